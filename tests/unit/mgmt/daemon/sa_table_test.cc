#include "crossgate/mgmt/daemon/sa_table.h"

#include <gtest/gtest.h>

namespace crossgate::mgmtd {
namespace {

// The IKE_SA part of list-sa / ike-updown as charon 5.9.8 sends it (vici_query.c list_ike).
void fillIke(vici::Section& ike, uint64_t id, const std::string& state) {
  ike.add("uniqueid", std::to_string(id)).add("version", "2").add("state", state);
  ike.add("local-host", "10.0.0.4").add("local-port", "4500").add("local-id", "203.0.113.10");
  ike.add("remote-host", "198.51.100.17").add("remote-port", "4500");
  ike.add("remote-id", "198.51.100.17").add("encr-alg", "AES_GCM_16");
}

void fillChild(vici::Section& c, const std::string& name, uint64_t id, const std::string& state,
               uint64_t bytes_in = 0) {
  c.add("name", name).add("uniqueid", std::to_string(id)).add("state", state);
  c.add("spi-in", "c1a2b3c4").add("spi-out", "0fa1b2c3").add("bytes-in", std::to_string(bytes_in));
}

// One list-sa event: an IKE_SA with one CHILD_SA.
vici::Message listSa(const std::string& name, uint64_t id, uint64_t child_id,
                     uint64_t bytes_in = 0) {
  vici::Message m;
  vici::Section& ike = m.addSection(name);
  fillIke(ike, id, "ESTABLISHED");
  vici::Section& c = ike.addSection("child-sas").addSection(name + "-" + std::to_string(child_id));
  fillChild(c, name, child_id, "INSTALLED", bytes_in);
  return m;
}

vici::Message ikeUpdown(const std::string& name, uint64_t id, bool up) {
  vici::Message m;
  if (up) {
    m.add("up", "yes");
  }
  fillIke(m.addSection(name), id, up ? "ESTABLISHED" : "DELETING");
  return m;
}

vici::Message childUpdown(const std::string& name, uint64_t id, uint64_t child_id, bool up) {
  vici::Message m;
  if (up) {
    m.add("up", "yes");
  }
  vici::Section& ike = m.addSection(name);
  fillIke(ike, id, "ESTABLISHED");
  vici::Section& c = ike.addSection("child-sas").addSection(name + "-" + std::to_string(child_id));
  fillChild(c, name, child_id, up ? "INSTALLED" : "DELETING");
  return m;
}

std::vector<IkeSaInfo> listing(std::initializer_list<vici::Message> events) {
  std::vector<IkeSaInfo> out;
  for (const vici::Message& m : events) {
    for (IkeSaInfo& sa : parseIkeSas(m)) {
      out.push_back(std::move(sa));
    }
  }
  return out;
}

bool tunnelUp(const SaTable& table, const std::string& name) {
  TunnelStatus status;
  const std::vector<IkeSaInfo> sas = table.sas();
  if (const IkeSaInfo* sa = bestIkeSa(sas, name)) {
    status.ike = *sa;
  }
  return isUp(status);
}

// A table synced with both tunnels up, as after start-up.
SaTable syncedTable() {
  SaTable table;
  const SaTable::ListingToken token = table.beginListing();
  table.applyCompleteListing(token, listing({listSa("aws-t1", 1, 2), listSa("aws-t2", 3, 4)}));
  return table;
}

TEST(SaTable, BusySaMissingFromNoblockListingStaysUpAndIsNotInitiated) {
  SaTable table = syncedTable();
  ASSERT_TRUE(table.synced());
  ASSERT_TRUE(tunnelUp(table, "aws-t1"));
  // aws-t1 is checked out in charon (DPD, rekey): noblock leaves it out, several polls long.
  for (int i = 0; i < SaTable::kMissesBeforeConfirm - 1; ++i) {
    table.mergeNoblockListing(table.beginListing(), listing({listSa("aws-t2", 3, 4, 100 + i)}));
  }
  EXPECT_TRUE(tunnelUp(table, "aws-t1"));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_FALSE(table.needsCompleteListing());
  // The SAs it does return get their counters refreshed.
  const std::vector<IkeSaInfo> sas = table.sas();
  const IkeSaInfo* t2 = bestIkeSa(sas, "aws-t2");
  ASSERT_NE(t2, nullptr);
  EXPECT_EQ(bestChildSa(*t2)->bytes_in, 100u + SaTable::kMissesBeforeConfirm - 2);
  // Absent for long without an event: a blocking listing is asked for, still no initiate.
  table.mergeNoblockListing(table.beginListing(), listing({listSa("aws-t2", 3, 4)}));
  EXPECT_TRUE(table.needsCompleteListing());
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_TRUE(tunnelUp(table, "aws-t1"));
}

TEST(SaTable, EmptyNoblockListingRemovesNothing) {
  SaTable table = syncedTable();
  table.mergeNoblockListing(table.beginListing(), {});
  EXPECT_TRUE(tunnelUp(table, "aws-t1"));
  EXPECT_TRUE(tunnelUp(table, "aws-t2"));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t2"));
}

TEST(SaTable, DownEventRemovesTheSa) {
  SaTable table = syncedTable();
  table.applyEvent("child-updown", childUpdown("aws-t1", 1, 2, false));
  EXPECT_FALSE(tunnelUp(table, "aws-t1"));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));  // the IKE_SA is still there
  table.applyEvent("ike-updown", ikeUpdown("aws-t1", 1, false));
  EXPECT_TRUE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t2"));
  // A noblock listing taken before the deletion does not bring it back.
  table.mergeNoblockListing(table.beginListing(),
                            listing({listSa("aws-t1", 1, 2), listSa("aws-t2", 3, 4)}));
  EXPECT_TRUE(table.knownWithoutIkeSa("aws-t1"));
}

TEST(SaTable, UpEventsAddTheSa) {
  SaTable table = syncedTable();
  table.applyEvent("ike-updown", ikeUpdown("aws-t1", 1, false));
  table.applyEvent("ike-updown", ikeUpdown("aws-t1", 7, true));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_FALSE(tunnelUp(table, "aws-t1"));  // no CHILD_SA yet
  table.applyEvent("child-updown", childUpdown("aws-t1", 7, 8, true));
  EXPECT_TRUE(tunnelUp(table, "aws-t1"));
}

TEST(SaTable, UnsyncedTableNeverSaysATunnelHasNoIkeSa) {
  SaTable fresh;
  EXPECT_FALSE(fresh.knownWithoutIkeSa("aws-t1"));
  EXPECT_TRUE(fresh.needsCompleteListing());
  fresh.mergeNoblockListing(fresh.beginListing(), {});
  EXPECT_FALSE(fresh.knownWithoutIkeSa("aws-t1"));

  SaTable table = syncedTable();
  table.markUnsynced();  // the event stream reconnected: down events may have been missed
  table.applyEvent("ike-updown", ikeUpdown("aws-t1", 1, false));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_TRUE(table.needsCompleteListing());
}

TEST(SaTable, CompleteListingRemovesOnlySasKnownBeforeIt) {
  SaTable table = syncedTable();
  const SaTable::ListingToken token = table.beginListing();
  // While the blocking listing is in flight, aws-t1 is re-established (new IKE_SA 9).
  table.applyEvent("ike-updown", ikeUpdown("aws-t1", 9, true));
  // The listing (taken before that) has neither aws-t1 SA; aws-t2 is there.
  table.applyCompleteListing(token, listing({listSa("aws-t2", 3, 4)}));
  EXPECT_TRUE(table.synced());
  const std::vector<IkeSaInfo> sas = table.sas();
  ASSERT_EQ(sas.size(), 2u);
  const IkeSaInfo* t1 = bestIkeSa(sas, "aws-t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->uniqueid, 9u);
  // Absent from a complete listing (and known before it): gone, and only then initiated.
  const SaTable::ListingToken second = table.beginListing();
  table.applyCompleteListing(second, listing({listSa("aws-t2", 3, 4)}));
  EXPECT_TRUE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t2"));
}

TEST(SaTable, CompleteListingAcrossAnEventStreamReconnectDoesNotSync) {
  SaTable table;
  const SaTable::ListingToken token = table.beginListing();
  table.markUnsynced();
  table.applyCompleteListing(token, listing({listSa("aws-t2", 3, 4)}));
  EXPECT_FALSE(table.synced());
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
  EXPECT_TRUE(tunnelUp(table, "aws-t2"));
}

TEST(SaTable, IkeRekeyMovesTheChildrenToTheNewSa) {
  SaTable table = syncedTable();
  vici::Message rekey;
  vici::Section& s = rekey.addSection("aws-t1");
  fillIke(s.addSection("old"), 1, "REKEYED");
  fillIke(s.addSection("new"), 11, "ESTABLISHED");
  table.applyEvent("ike-rekey", rekey);
  const std::vector<IkeSaInfo> sas = table.sas();
  const IkeSaInfo* t1 = bestIkeSa(sas, "aws-t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->uniqueid, 11u);
  EXPECT_TRUE(tunnelUp(table, "aws-t1"));
  EXPECT_EQ(std::count_if(sas.begin(), sas.end(),
                          [](const IkeSaInfo& sa) { return sa.name == "aws-t1"; }),
            1);
  // A stale listing that still shows the old IKE_SA does not bring it back.
  table.mergeNoblockListing(table.beginListing(), listing({listSa("aws-t1", 1, 2)}));
  EXPECT_EQ(table.sas().size(), 2u);
}

TEST(SaTable, ChildRekeyReplacesTheChild) {
  SaTable table = syncedTable();
  vici::Message rekey;
  vici::Section& ike = rekey.addSection("aws-t2");
  fillIke(ike, 3, "ESTABLISHED");
  vici::Section& pair = ike.addSection("child-sas").addSection("aws-t2-4");
  fillChild(pair.addSection("old"), "aws-t2", 4, "REKEYED");
  fillChild(pair.addSection("new"), "aws-t2", 12, "INSTALLED");
  table.applyEvent("child-rekey", rekey);
  const std::vector<IkeSaInfo> sas = table.sas();
  const IkeSaInfo* t2 = bestIkeSa(sas, "aws-t2");
  ASSERT_NE(t2, nullptr);
  ASSERT_EQ(t2->children.size(), 1u);
  EXPECT_EQ(t2->children[0].uniqueid, 12u);
  EXPECT_TRUE(tunnelUp(table, "aws-t2"));
}

TEST(SaTable, MissingConnectingSaIsConfirmedAtOnceButNotInitiated) {
  SaTable table = syncedTable();
  vici::Message connecting;
  fillIke(connecting.addSection("aws-t3"), 20, "CONNECTING");
  table.mergeNoblockListing(table.beginListing(),
                            listing({listSa("aws-t1", 1, 2), listSa("aws-t2", 3, 4), connecting}));
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t3"));
  EXPECT_FALSE(table.needsCompleteListing());
  table.mergeNoblockListing(table.beginListing(),
                            listing({listSa("aws-t1", 1, 2), listSa("aws-t2", 3, 4)}));
  EXPECT_TRUE(table.needsCompleteListing());
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t3"));  // a noblock listing alone never suffices
  const SaTable::ListingToken token = table.beginListing();
  table.applyCompleteListing(token, listing({listSa("aws-t1", 1, 2), listSa("aws-t2", 3, 4)}));
  EXPECT_TRUE(table.knownWithoutIkeSa("aws-t3"));
  EXPECT_FALSE(table.needsCompleteListing());
}

TEST(SaTable, ListingOlderThanAnEventDoesNotOverwriteIt) {
  SaTable table;
  const SaTable::ListingToken token = table.beginListing();
  table.applyEvent("ike-updown", ikeUpdown("aws-t1", 1, true));
  table.applyEvent("child-updown", childUpdown("aws-t1", 1, 2, true));
  // The listing was taken while the IKE_SA was still connecting.
  vici::Message connecting;
  fillIke(connecting.addSection("aws-t1"), 1, "CONNECTING");
  table.mergeNoblockListing(token, listing({connecting}));
  EXPECT_TRUE(tunnelUp(table, "aws-t1"));
  // A later listing refreshes it.
  table.mergeNoblockListing(table.beginListing(), listing({listSa("aws-t1", 1, 2, 4096)}));
  const std::vector<IkeSaInfo> sas = table.sas();
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(bestChildSa(sas[0])->bytes_in, 4096u);
}

TEST(SaTable, ClearForgetsEverything) {
  SaTable table = syncedTable();
  table.clear();
  EXPECT_TRUE(table.sas().empty());
  EXPECT_FALSE(table.synced());
  EXPECT_FALSE(table.knownWithoutIkeSa("aws-t1"));
}

}  // namespace
}  // namespace crossgate::mgmtd
