// Grouping a batch of UDP answers into segmented-send trains: one client and one size per train
// (the last answer may be shorter), the segment limit, and segmentation turned off.
#include "crossgate/dns/udp_trains.h"

#include <gtest/gtest.h>

#include <vector>

namespace crossgate::dns {
namespace {

struct Answer {
  int client;
  size_t size;
};

// The trains as lists of answer indices.
std::vector<std::vector<int>> plan(const std::vector<Answer>& answers, bool segment = true,
                                   size_t max_segment = 1232) {
  std::vector<size_t> sizes;
  for (const Answer& a : answers) {
    sizes.push_back(a.size);
  }
  UdpTrains<32> t;
  planUdpTrains(
      std::span<const size_t>(sizes), max_segment, segment,
      [&](size_t a, size_t b) { return answers[a].client == answers[b].client; }, &t);
  std::vector<std::vector<int>> out;
  size_t pos = 0;
  for (size_t i = 0; i < t.count; ++i) {
    std::vector<int> train;
    for (size_t k = 0; k < t.length[i]; ++k) {
      train.push_back(t.order[pos + k]);
    }
    EXPECT_EQ(t.lead[i], train.front()) << "train " << i;
    pos += t.length[i];
    out.push_back(train);
  }
  EXPECT_EQ(pos, answers.size());
  return out;
}

using Trains = std::vector<std::vector<int>>;

TEST(UdpTrains, EmptyBatchHasNoTrains) { EXPECT_EQ(plan({}), Trains{}); }

TEST(UdpTrains, SameClientSameSizeShareATrain) {
  EXPECT_EQ(plan({{1, 80}, {1, 80}, {1, 80}}), (Trains{{0, 1, 2}}));
}

TEST(UdpTrains, ClientsAreNeverMixed) {
  EXPECT_EQ(plan({{1, 80}, {2, 80}, {1, 80}, {2, 80}}), (Trains{{0, 2}, {1, 3}}));
}

TEST(UdpTrains, AShorterAnswerEndsItsTrain) {
  // 70 may follow 80s as the last segment; after it the train is closed, so the next 80 starts a
  // new one.
  EXPECT_EQ(plan({{1, 80}, {1, 80}, {1, 70}, {1, 80}}), (Trains{{0, 1, 2}, {3}}));
}

TEST(UdpTrains, ALongerAnswerStartsANewTrain) {
  EXPECT_EQ(plan({{1, 70}, {1, 80}, {1, 70}, {1, 80}}), (Trains{{0, 2}, {1, 3}}));
}

TEST(UdpTrains, AnswersAboveTheSegmentLimitTravelAlone) {
  EXPECT_EQ(plan({{1, 1300}, {1, 1300}, {1, 80}}), (Trains{{0}, {1}, {2}}));
  EXPECT_EQ(plan({{1, 1232}, {1, 1232}}), (Trains{{0, 1}}));
  EXPECT_EQ(plan({{1, 1233}, {1, 100}}), (Trains{{0}, {1}}));
}

TEST(UdpTrains, SegmentationOffSendsEveryAnswerAlone) {
  EXPECT_EQ(plan({{1, 80}, {1, 80}, {1, 80}}, false), (Trains{{0}, {1}, {2}}));
}

TEST(UdpTrains, OrderToOneClientIsKept) {
  const Trains t = plan({{3, 90}, {1, 80}, {3, 90}, {1, 80}, {3, 90}});
  EXPECT_EQ(t, (Trains{{0, 2, 4}, {1, 3}}));
}

TEST(UdpTrains, AFullBatchOfOneClient) {
  std::vector<Answer> a(32, Answer{7, 64});
  const Trains t = plan(a);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].size(), 32u);
}

}  // namespace
}  // namespace crossgate::dns
