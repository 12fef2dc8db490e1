#include "crossgate/common/secret.h"

#include <gtest/gtest.h>

namespace crossgate {
namespace {

TEST(Secret, ComparesInConstantTimeAndMoves) {
  Secret a("Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB");
  Secret b("Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB");
  Secret c("Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvC");
  Secret d("Xk2p9");
  EXPECT_TRUE(a.equals(b));
  EXPECT_FALSE(a.equals(c));
  EXPECT_FALSE(a.equals(d));
  Secret moved(std::move(a));
  EXPECT_TRUE(moved.equals(b));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  Secret copy = moved.clone();
  EXPECT_TRUE(copy.equals(b));
}

}  // namespace
}  // namespace crossgate
