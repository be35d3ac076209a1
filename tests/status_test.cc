// Status carries a code the edges map (HTTP status, exit code); Result never holds
// an OK status without a value.
#include <gtest/gtest.h>

#include "core/status.h"

namespace tml {
namespace {

TEST(Status, CodesSurviveWrapping) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Error("bad").code(), StatusCode::kInvalidArgument);
  const Status nf = Status::NotFound("no run {}", 7).Wrap("runs show");
  EXPECT_EQ(nf.code(), StatusCode::kNotFound);
  EXPECT_EQ(nf.message(), "runs show: no run 7");
  EXPECT_EQ(Status::Make(StatusCode::kOk, "x").code(), StatusCode::kInternal)
      << "an error made with the OK code is not OK";
  EXPECT_STREQ(StatusCodeName(StatusCode::kFailedPrecondition), "failed precondition");
}

Result<int> Half(int x) {
  if (x % 2) return Status::Errorf("{} is odd", x);
  return x / 2;
}

TEST(Status, ResultHoldsAValueOrAnError) {
  EXPECT_EQ(*Half(4), 2);
  EXPECT_EQ(Half(3).status().message(), "3 is odd");
  Result<int> broken(Status::Ok());
  EXPECT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace tml
