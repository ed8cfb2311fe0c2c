// Server-sent events carrying JSON, for the console and the wall: `handler`
// gets the parsed object of each event called `name`; an event whose data is
// not a JSON object is ignored (the pages take nothing on trust).
export function onJsonEvent(source, name, handler) {
  source.addEventListener(name, (e) => {
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    if (data && typeof data === 'object') handler(data);
  });
}
