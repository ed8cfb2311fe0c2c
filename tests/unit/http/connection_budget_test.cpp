#include "http/connection_budget.h"

#include <gtest/gtest.h>

namespace mirror::http {
namespace {

TEST(ConnectionBudget, CapsEachAddressAndTheWhole) {
  ConnectionBudget budget(3, 2);
  EXPECT_EQ(budget.acquire("10.0.0.1"), ConnectionBudget::Verdict::kAccepted);
  EXPECT_EQ(budget.acquire("10.0.0.1"), ConnectionBudget::Verdict::kAccepted);
  EXPECT_EQ(budget.acquire("10.0.0.1"), ConnectionBudget::Verdict::kAddressFull);
  EXPECT_EQ(budget.acquire("10.0.0.2"), ConnectionBudget::Verdict::kAccepted);
  EXPECT_EQ(budget.acquire("10.0.0.3"), ConnectionBudget::Verdict::kServerFull);
  EXPECT_EQ(budget.open(), 3);
  EXPECT_EQ(budget.open_from("10.0.0.1"), 2);
  budget.release("10.0.0.1");
  EXPECT_EQ(budget.acquire("10.0.0.3"), ConnectionBudget::Verdict::kAccepted);
  budget.release("10.0.0.9");  // never taken: nothing changes
  EXPECT_EQ(budget.open(), 3);
  for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) budget.release(a);
  EXPECT_EQ(budget.open(), 0);
  EXPECT_EQ(budget.open_from("10.0.0.1"), 0);
}

}  // namespace
}  // namespace mirror::http
