// SA table: configuration from the wire, install/update/remove/query, snapshots, outbound
// selection during rekeying, SPI allocation, lifetime edges.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "esp_test_util.h"

namespace crossgate::dataplane {
namespace {

using test::Bytes;
using test::Frame;

const test::Algo& gcm128() { return test::allAlgos()[0]; }

cg_dp_sa_id idOf(const SaConfig& c) {
  cg_dp_sa_id id{};
  id.src = c.src;
  id.dst = c.dst;
  id.spi = c.spi;
  id.proto = 50;
  id.if_id = c.if_id;
  return id;
}

// ---- SaConfig::fromWire ----

struct Wire {
  cg_dp_add_sa msg{};
  Bytes enc_key = test::pattern(36, 1);
  Bytes int_key;
  Bytes src_ts;
  Bytes dst_ts;

  Wire() {
    msg.id.src = test::v4(198, 51, 100, 1, 4500);
    msg.id.dst = test::v4(192, 0, 2, 1, 4500);
    msg.id.spi = htonl(0xc0000001);
    msg.id.proto = 50;
    msg.id.if_id = 3;
    msg.reqid = 9;
    msg.flags = CG_DP_SA_INBOUND | CG_DP_SA_ENCAP | CG_DP_SA_ESN;
    msg.enc_alg = kEncrAesGcm16;
    msg.enc_key_len = 36;
    msg.replay_window = 4096;
    msg.mode = 1;
    msg.lifetime.bytes_soft = 1000;
    addTs(&src_ts, 0x0a000000, 0x0affffff);
    addTs(&dst_ts, 0, 0xffffffff);
    msg.src_ts_count = 1;
    msg.dst_ts_count = 1;
  }
  static void addTs(Bytes* out, uint32_t from, uint32_t to) {
    cg_dp_ts ts{};
    ts.from.family = ts.to.family = 4;
    const uint32_t f = htonl(from);
    const uint32_t t = htonl(to);
    std::memcpy(ts.from.addr, &f, 4);
    std::memcpy(ts.to.addr, &t, 4);
    ts.to_port = 65535;
    const auto* p = reinterpret_cast<const uint8_t*>(&ts);
    out->insert(out->end(), p, p + sizeof(ts));
  }
  Result<SaConfig> parse() const {
    return SaConfig::fromWire(msg, enc_key, int_key, src_ts, dst_ts);
  }
};

TEST(SaConfigFromWire, GcmInboundEsn) {
  Wire w;
  // Unaligned selector bytes are fine.
  Bytes shifted(1);
  shifted.insert(shifted.end(), w.src_ts.begin(), w.src_ts.end());
  auto c = SaConfig::fromWire(w.msg, w.enc_key, w.int_key,
                              std::span<const uint8_t>(shifted).subspan(1), w.dst_ts);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->inbound);
  EXPECT_TRUE(c->esn);
  EXPECT_EQ(c->cipher, EspCipher::kAesGcm16);
  EXPECT_EQ(c->integrity, EspIntegrity::kNone);
  EXPECT_EQ(c->enc_key.size(), 36u);
  EXPECT_EQ(c->replay_window, 4096u);
  EXPECT_EQ(c->if_id, 3u);
  EXPECT_EQ(c->reqid, 9u);
  ASSERT_EQ(c->src_ts.size(), 1u);
  EXPECT_EQ(c->src_ts[0].from[0], 10);
  EXPECT_EQ(c->src_ts[0].to[3], 255);
  EXPECT_EQ(c->lifetime.bytes_soft, 1000u);
}

TEST(SaConfigFromWire, CbcWithEveryIntegrity) {
  const std::pair<uint16_t, size_t> ints[] = {{kAuthHmacSha1_96, 20},
                                              {kAuthHmacSha256_128, 32},
                                              {kAuthHmacSha384_192, 48},
                                              {kAuthHmacSha512_256, 64}};
  for (auto [alg, len] : ints) {
    for (size_t klen : {16, 24, 32}) {
      Wire w;
      w.msg.enc_alg = kEncrAesCbc;
      w.enc_key = test::pattern(klen, 2);
      w.msg.enc_key_len = static_cast<uint16_t>(klen);
      w.msg.int_alg = alg;
      w.int_key = test::pattern(len, 3);
      w.msg.int_key_len = static_cast<uint16_t>(len);
      auto c = w.parse();
      ASSERT_TRUE(c.ok()) << c.error().message;
      EXPECT_EQ(c->cipher, EspCipher::kAesCbc);
      SaTable table(1);
      EXPECT_TRUE(table.install(std::move(c).value(), 0).ok());
    }
  }
}

TEST(SaConfigFromWire, RejectsWithNamedField) {
  auto expectError = [](Wire w, const char* needle) {
    auto c = w.parse();
    ASSERT_FALSE(c.ok()) << needle;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().code, Errc::kInvalidArgument);
  };
  Wire w;
  w.msg.enc_alg = 3;  // 3DES
  expectError(w, "encryption transform 3");
  w = Wire();
  w.msg.int_alg = 5;
  expectError(w, "integrity transform 5");
  w = Wire();
  w.enc_key.resize(32);
  w.msg.enc_key_len = 32;  // no salt
  expectError(w, "expected 20, 28 or 36");
  w = Wire();
  w.msg.int_alg = kAuthHmacSha1_96;
  w.int_key = test::pattern(20, 1);
  w.msg.int_key_len = 20;
  expectError(w, "no integrity");
  w = Wire();
  w.msg.enc_alg = kEncrAesCbc;
  w.enc_key.resize(16);
  w.msg.enc_key_len = 16;
  w.msg.int_alg = kAuthHmacSha256_128;
  w.int_key = test::pattern(20, 1);
  w.msg.int_key_len = 20;
  expectError(w, "hmac-sha2-256-128 key is 20 bytes, expected 32");
  w = Wire();
  w.msg.mode = 2;
  expectError(w, "mode 2");
  w = Wire();
  w.msg.id.proto = 51;
  expectError(w, "not ESP");
  w = Wire();
  w.msg.replay_window = ReplayWindow::kMaxWindow + 1;
  expectError(w, "replay window");
  w = Wire();
  w.src_ts.resize(47);
  expectError(w, "whole number");
  w = Wire();
  w.msg.enc_key_len = 20;  // span length disagrees
  expectError(w, "key spans");
}

TEST(SaConfigFromWire, ErrorsNeverCarryKeyBytes) {
  Wire w;
  w.enc_key = Bytes(37, 'K');
  w.msg.enc_key_len = 37;
  auto c = w.parse();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message.find("KKKK"), std::string::npos);
}

// ---- table ----

TEST(SaTable, InstallQueryRemove) {
  SaTable table(2);
  SaConfig in = test::makeConfig(gcm128(), true, false, 0xc0000010);
  const cg_dp_sa_id id = idOf(in);
  ASSERT_TRUE(table.install(std::move(in), 5).ok());
  EXPECT_EQ(table.install(test::makeConfig(gcm128(), true, false, 0xc0000010), 5).error().code,
            Errc::kAlreadyExists);
  auto stats = table.query(id);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->packets, 0u);
  auto snap = table.snapshot();
  EXPECT_NE(snap->findInbound(htonl(0xc0000010)), nullptr);
  EXPECT_EQ(snap->findOutbound(7), nullptr);
  ASSERT_TRUE(table.remove(id).ok());
  EXPECT_EQ(table.remove(id).error().code, Errc::kNotFound);
  EXPECT_EQ(table.query(id).error().code, Errc::kNotFound);
  EXPECT_EQ(table.snapshot()->findInbound(htonl(0xc0000010)), nullptr);
  // The old snapshot still holds the SA (RCU): workers finishing a batch are safe.
  EXPECT_NE(snap->findInbound(htonl(0xc0000010)), nullptr);
  EXPECT_GT(table.snapshot()->generation(), snap->generation());
}

TEST(SaTable, NewestOutboundWinsUntilDeleted) {
  SaTable table(1);
  SaConfig old_out = test::makeConfig(gcm128(), false, false, 0xc0000020);
  SaConfig new_out = test::makeConfig(gcm128(), false, false, 0xc0000021);
  const cg_dp_sa_id old_id = idOf(old_out);
  const cg_dp_sa_id new_id = idOf(new_out);
  ASSERT_TRUE(table.install(std::move(old_out), 0).ok());
  EXPECT_EQ(table.snapshot()->findOutbound(7)->sa->spi(), htonl(0xc0000020));
  ASSERT_TRUE(table.install(std::move(new_out), 10).ok());
  EXPECT_EQ(table.snapshot()->findOutbound(7)->sa->spi(), htonl(0xc0000021));
  // Another if_id is independent.
  ASSERT_TRUE(table.install(test::makeConfig(gcm128(), false, false, 0xc0000022, 8), 10).ok());
  EXPECT_EQ(table.snapshot()->findOutbound(8)->sa->spi(), htonl(0xc0000022));
  EXPECT_EQ(table.snapshot()->findOutbound(7)->sa->spi(), htonl(0xc0000021));
  // Deleting the old one changes nothing; deleting the new one falls back to what is left.
  ASSERT_TRUE(table.remove(old_id).ok());
  EXPECT_EQ(table.snapshot()->findOutbound(7)->sa->spi(), htonl(0xc0000021));
  ASSERT_TRUE(table.remove(new_id).ok());
  EXPECT_EQ(table.snapshot()->findOutbound(7), nullptr);
  table.flush();
  EXPECT_TRUE(table.snapshot()->entries().empty());
}

TEST(SaTable, AllocateSpiReservesUntilInstalledOrRemoved) {
  SaTable table(1);
  const cg_dp_addr us = test::v4(192, 0, 2, 1);
  auto spi = table.allocateSpi(us);
  ASSERT_TRUE(spi.ok());
  const uint32_t host = ntohl(*spi);
  EXPECT_GE(host, 0xc0000000u);
  EXPECT_LE(host, 0xcfffffffu);
  std::set<uint32_t> seen{*spi};
  for (int i = 0; i < 200; ++i) {
    auto s = table.allocateSpi(us);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(seen.insert(*s).second);
  }
  // DEL_SA of a reservation that never got keys succeeds once.
  cg_dp_sa_id id{};
  id.dst = us;
  id.spi = *spi;
  id.proto = 50;
  EXPECT_TRUE(table.remove(id).ok());
  EXPECT_EQ(table.remove(id).error().code, Errc::kNotFound);
  // Installing a reserved SPI consumes the reservation.
  auto spi2 = table.allocateSpi(us);
  ASSERT_TRUE(spi2.ok());
  SaConfig in = test::makeConfig(gcm128(), true, false, ntohl(*spi2));
  in.flags |= CG_DP_SA_UPDATE;
  const cg_dp_sa_id id2 = idOf(in);
  ASSERT_TRUE(table.install(std::move(in), 0).ok());
  EXPECT_TRUE(table.remove(id2).ok());
  EXPECT_EQ(table.remove(id2).error().code, Errc::kNotFound);
}

TEST(SaTable, UpdateMovesEndpointsKeepingState) {
  SaTable tx(1);
  SaTable rx(1);
  SaConfig out = test::makeConfig(gcm128(), false, false, 0xc0000030);
  SaConfig in = test::makeConfig(gcm128(), true, false, 0xc0000030);
  const cg_dp_sa_id in_id = idOf(in);
  ASSERT_TRUE(tx.install(std::move(out), 0).ok());
  ASSERT_TRUE(rx.install(std::move(in), 0).ok());
  EspWorker worker(0);
  Frame f(test::ipv4Udp(80));
  const SaEntry* e = nullptr;
  ASSERT_EQ(espEncrypt(*tx.snapshot(), 7, f.pkt, worker, &e), EspDrop::kNone);
  const Bytes packet = f.bytes();
  ASSERT_EQ(espDecrypt(*rx.snapshot(), f.pkt, worker, &e), EspDrop::kNone);
  // The peer moved to a new NAT port.
  const cg_dp_addr new_src = test::v4(198, 51, 100, 1, 61000);
  ASSERT_TRUE(rx.update(in_id, new_src, in_id.dst, 42).ok());
  const SaEntry* moved = rx.snapshot()->findInbound(htonl(0xc0000030));
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->src.port, 61000);
  EXPECT_EQ(moved->sa->reqid(), 42u);
  EXPECT_EQ(moved->sa->stats().packets, 1u);
  // The replay state survived: the old packet is still a replay.
  Frame again(packet);
  EXPECT_EQ(espDecrypt(*rx.snapshot(), again.pkt, worker, &e), EspDrop::replay);
  cg_dp_sa_id missing = in_id;
  missing.spi = htonl(0xc0000031);
  EXPECT_EQ(rx.update(missing, new_src, in_id.dst, 0).error().code, Errc::kNotFound);
}

// The control thread publishes new snapshots (installs, updates, removals of other SAs) while a
// worker keeps encrypting and decrypting with one snapshot per batch: no lock, no lost packet.
TEST(SaTable, SnapshotsPublishedWhileWorkersRun) {
  SaTable tx(1);
  SaTable rx(1);
  ASSERT_TRUE(tx.install(test::makeConfig(gcm128(), false, false, 0xc0000050), 0).ok());
  ASSERT_TRUE(rx.install(test::makeConfig(gcm128(), true, false, 0xc0000050), 0).ok());
  std::atomic<bool> stop{false};
  std::thread control([&] {
    for (uint32_t i = 0; i < 300; ++i) {
      SaConfig extra = test::makeConfig(gcm128(), true, false, 0xc1000000 + i);
      const cg_dp_sa_id id = idOf(extra);
      EXPECT_TRUE(rx.install(std::move(extra), 0).ok());
      EXPECT_TRUE(rx.update(id, test::v4(198, 51, 100, 2, 4500), id.dst, 0).ok());
      if (i % 2 == 0) {
        EXPECT_TRUE(rx.remove(id).ok());
      }
    }
    stop = true;
  });
  EspWorker worker(0);
  uint64_t delivered = 0;
  while (!stop.load()) {
    auto tx_snap = tx.snapshot();
    auto rx_snap = rx.snapshot();
    for (int i = 0; i < 16; ++i) {
      Frame f(test::ipv4Udp(100));
      const SaEntry* e = nullptr;
      ASSERT_EQ(espEncrypt(*tx_snap, 7, f.pkt, worker, &e), EspDrop::kNone);
      ASSERT_EQ(espDecrypt(*rx_snap, f.pkt, worker, &e), EspDrop::kNone);
      ++delivered;
    }
  }
  control.join();
  EXPECT_EQ(rx.snapshot()->findInbound(htonl(0xc0000050))->sa->stats().packets, delivered);
  EXPECT_EQ(rx.snapshot()->entries().size(), 1u + 150u);
}

// ---- lifetimes ----

struct Traffic {
  SaTable tx{1};
  SaTable rx{1};
  EspWorker worker{0};

  explicit Traffic(cg_dp_lifetime lt) {
    SaConfig out = test::makeConfig(gcm128(), false, false, 0xc0000040);
    SaConfig in = test::makeConfig(gcm128(), true, false, 0xc0000040);
    out.lifetime = lt;
    in.lifetime = lt;
    EXPECT_TRUE(tx.install(std::move(out), 1000).ok());
    EXPECT_TRUE(rx.install(std::move(in), 1000).ok());
  }
  EspDrop sendOne(size_t size) {
    Frame f(test::ipv4Udp(size));
    const SaEntry* e = nullptr;
    EspDrop d = espEncrypt(*tx.snapshot(), 7, f.pkt, worker, &e);
    if (d != EspDrop::kNone) {
      return d;
    }
    return espDecrypt(*rx.snapshot(), f.pkt, worker, &e);
  }
};

TEST(SaLifetime, PacketLimitsGiveOneSoftAndOneHardEdge) {
  cg_dp_lifetime lt{};
  lt.packets_soft = 3;
  lt.packets_hard = 5;
  Traffic t(lt);
  std::vector<SaExpire> ev;
  for (int i = 1; i <= 2; ++i) {
    ASSERT_EQ(t.sendOne(60), EspDrop::kNone);
  }
  EXPECT_FALSE(t.worker.takeExpireEdge());
  t.tx.collectExpires(1000, &ev);
  EXPECT_TRUE(ev.empty());
  ASSERT_EQ(t.sendOne(60), EspDrop::kNone);  // third packet crosses soft (both SAs)
  EXPECT_TRUE(t.worker.takeExpireEdge());
  t.tx.collectExpires(1000, &ev);
  t.rx.collectExpires(1000, &ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_FALSE(ev[0].hard);
  EXPECT_FALSE(ev[1].hard);
  EXPECT_TRUE(ev[1].inbound);
  ev.clear();
  t.tx.collectExpires(1000, &ev);
  EXPECT_TRUE(ev.empty());  // exactly once
  ASSERT_EQ(t.sendOne(60), EspDrop::kNone);
  ASSERT_EQ(t.sendOne(60), EspDrop::kNone);  // fifth reaches hard
  EXPECT_EQ(t.sendOne(60), EspDrop::sa_expired);
  t.tx.collectExpires(1000, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].hard);
  ev.clear();
  t.tx.collectExpires(1000, &ev);
  EXPECT_TRUE(ev.empty());
}

TEST(SaLifetime, ByteLimits) {
  cg_dp_lifetime lt{};
  lt.bytes_soft = 250;
  lt.bytes_hard = 400;
  Traffic t(lt);
  std::vector<SaExpire> ev;
  ASSERT_EQ(t.sendOne(100), EspDrop::kNone);
  ASSERT_EQ(t.sendOne(100), EspDrop::kNone);
  t.rx.collectExpires(1000, &ev);
  EXPECT_TRUE(ev.empty());
  ASSERT_EQ(t.sendOne(100), EspDrop::kNone);  // 300 >= 250
  t.rx.collectExpires(1000, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].hard);
  ASSERT_EQ(t.sendOne(100), EspDrop::kNone);  // 400 >= 400
  EXPECT_EQ(t.sendOne(100), EspDrop::sa_expired);
  ev.clear();
  t.rx.collectExpires(1000, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].hard);
  EXPECT_TRUE(ev[0].inbound);
  EXPECT_EQ(ev[0].reqid, 1u);
}

TEST(SaLifetime, TimeLimitsFromInstallTime) {
  cg_dp_lifetime lt{};
  lt.time_soft_s = 30;
  lt.time_hard_s = 40;
  Traffic t(lt);  // installed at 1000
  std::vector<SaExpire> ev;
  t.tx.collectExpires(1029, &ev);
  EXPECT_TRUE(ev.empty());
  t.tx.collectExpires(1030, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].hard);
  t.tx.collectExpires(1035, &ev);
  EXPECT_EQ(ev.size(), 1u);
  EXPECT_EQ(t.sendOne(60), EspDrop::kNone);
  t.tx.collectExpires(1040, &ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[1].hard);
  EXPECT_EQ(t.sendOne(60), EspDrop::sa_expired);
  t.tx.collectExpires(5000, &ev);
  EXPECT_EQ(ev.size(), 2u);
}

TEST(SaLifetime, HardWithoutSoftReportsOnlyHard) {
  cg_dp_lifetime lt{};
  lt.time_soft_s = 30;
  lt.time_hard_s = 40;
  Traffic t(lt);
  std::vector<SaExpire> ev;
  t.tx.collectExpires(2000, &ev);  // first poll long after both limits
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].hard);
}

TEST(SaLifetime, LastUseTimeFollowsTheWorkerClock) {
  Traffic t(cg_dp_lifetime{});
  t.worker.setNow(12345);
  ASSERT_EQ(t.sendOne(60), EspDrop::kNone);
  const SaEntry* in = t.rx.snapshot()->findInbound(htonl(0xc0000040));
  EXPECT_EQ(in->sa->stats().use_time, 12345u);
  EXPECT_EQ(t.tx.snapshot()->findOutbound(7)->sa->stats().use_time, 12345u);
}

TEST(DropReasons, NamesAndHelpForEveryReason) {
  std::set<std::string> names;
  for (size_t i = 1; i < kEspDropCount; ++i) {
    const auto reason = static_cast<EspDrop>(i);
    EXPECT_FALSE(espDropName(reason).empty());
    EXPECT_GT(espDropHelp(reason).size(), 10u);
    EXPECT_TRUE(names.insert(std::string(espDropName(reason))).second);
  }
  EXPECT_EQ(espDropName(EspDrop::kNone), "none");
  EXPECT_EQ(espDropName(EspDrop::bad_icv), "bad_icv");
  EXPECT_EQ(espDropName(static_cast<EspDrop>(200)), "invalid");
}

}  // namespace
}  // namespace crossgate::dataplane
