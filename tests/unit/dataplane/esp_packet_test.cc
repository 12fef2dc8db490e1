// ESP encapsulation and decapsulation: round trips for every algorithm, key size and ESN setting,
// byte-exact cross-checks against an independent encoder, and every drop reason.
#include <gtest/gtest.h>

#include <thread>

#include "esp_sa_internal.h"
#include "esp_test_util.h"

namespace crossgate::dataplane {
namespace {

using test::Algo;
using test::Bytes;
using test::Frame;
using test::hex;
using test::toHex;

constexpr uint32_t kSpi = 0xc0001234;

// Two peers: `tx` holds the outbound SA, `rx` the inbound SA with the same keys.
struct Pair {
  SaTable tx{2};
  SaTable rx{2};
  EspWorker worker{0};

  Pair(const Algo& algo, bool esn, uint32_t window = 1024) {
    EXPECT_TRUE(tx.install(test::makeConfig(algo, false, esn, kSpi), 100).ok());
    SaConfig in = test::makeConfig(algo, true, esn, kSpi);
    in.replay_window = window;
    EXPECT_TRUE(rx.install(std::move(in), 100).ok());
  }
  Pair(SaConfig out, SaConfig in) {
    EXPECT_TRUE(tx.install(std::move(out), 100).ok());
    EXPECT_TRUE(rx.install(std::move(in), 100).ok());
  }
  EspDrop encrypt(Frame& f) {
    const SaEntry* e = nullptr;
    return espEncrypt(*tx.snapshot(), 7, f.pkt, worker, &e);
  }
  EspDrop decrypt(Frame& f) {
    const SaEntry* e = nullptr;
    return espDecrypt(*rx.snapshot(), f.pkt, worker, &e);
  }
  Sa& outSa() { return *tx.snapshot()->findOutbound(7)->sa; }
  Sa& inSa() { return *rx.snapshot()->findInbound(htonl(kSpi))->sa; }
};

struct Case {
  Algo algo;
  bool esn;
};

std::vector<Case> allCases() {
  std::vector<Case> cases;
  for (const Algo& a : test::allAlgos()) {
    cases.push_back({a, false});
    cases.push_back({a, true});
  }
  return cases;
}

class EspRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(EspRoundTrip, EverySizeBothFamilies) {
  const Case& c = GetParam();
  Pair pair(c.algo, c.esn);
  const bool gcm = c.algo.cipher == EspCipher::kAesGcm16;
  const uint32_t iv_len = gcm ? 8 : 16;
  const uint32_t align = gcm ? 4 : 16;
  const uint32_t icv_len = gcm ? 16 : static_cast<uint32_t>(test::icvLenOf(c.algo.integrity));
  uint64_t expected_bytes = 0;
  uint64_t count = 0;
  for (size_t size : {20, 21, 28, 29, 30, 31, 32, 33, 64, 100, 511, 512, 1400, 1500, 9000}) {
    for (bool v6 : {false, true}) {
      if (v6 && size < 48) {
        continue;
      }
      const Bytes inner = v6 ? test::ipv6Udp(size) : test::ipv4Udp(size);
      Frame f(inner);
      ASSERT_EQ(pair.encrypt(f), EspDrop::kNone) << size;
      // Layout: header, IV, payload aligned, ICV.
      const uint32_t payload = f.pkt.length - 8 - iv_len - icv_len;
      EXPECT_EQ(payload % align, 0u);
      EXPECT_GE(payload, size + 2);
      EXPECT_LT(payload, size + 2 + align);
      EXPECT_EQ(f.pkt.length, size + pair.outSa().overhead(static_cast<uint32_t>(size)));
      EXPECT_EQ(pair.outSa().headerLength(), 8 + iv_len);
      EXPECT_EQ(toHex(f.pkt.data(), 4), "c0001234");
      ++count;
      EXPECT_EQ(f.pkt.data()[7], static_cast<uint8_t>(count));
      ASSERT_EQ(pair.decrypt(f), EspDrop::kNone) << size << (v6 ? " v6" : " v4");
      EXPECT_EQ(toHex(f.bytes()), toHex(inner));
      expected_bytes += size;
    }
  }
  EXPECT_EQ(pair.outSa().stats().packets, count);
  EXPECT_EQ(pair.inSa().stats().packets, count);
  EXPECT_EQ(pair.inSa().stats().bytes, expected_bytes);
  EXPECT_EQ(pair.inSa().stats().use_time, 0u);  // the worker clock was never set
  EXPECT_EQ(pair.worker.counters().encryptedPackets(), count);
  EXPECT_EQ(pair.worker.counters().decryptedPackets(), count);
}

// Our packets equal, byte for byte, those an independent encoder builds from the same keys,
// sequence number and IV (GCM: the IV is the sequence number; CBC: taken from our packet).
TEST_P(EspRoundTrip, MatchesIndependentEncoder) {
  const Case& c = GetParam();
  Pair pair(c.algo, c.esn);
  const uint64_t start = c.esn ? 0x00000002fffffffeull : 0x7ffffffeull;
  Sa::Internals::nextSeq(pair.outSa()).store(start);
  {
    Sa& in = pair.inSa();
    Sa::Internals::ReplayLock lock(in);
    ASSERT_EQ(Sa::Internals::replay(in).checkAndAdvance(start - 1), EspDrop::kNone);
  }
  const SaConfig& cfg = pair.outSa().config();
  const Bytes key(cfg.enc_key.bytes().begin(), cfg.enc_key.bytes().end());
  const Bytes int_key(cfg.int_key.bytes().begin(), cfg.int_key.bytes().end());
  for (uint64_t seq = start; seq < start + 4; ++seq) {  // crosses 2^32 with ESN
    const Bytes inner = test::ipv4Udp(61 + seq % 7);
    Frame f(inner);
    ASSERT_EQ(pair.encrypt(f), EspDrop::kNone);
    const Bytes ours = f.bytes();
    Bytes expected;
    if (c.algo.cipher == EspCipher::kAesGcm16) {
      Bytes iv(8);
      for (int i = 0; i < 8; ++i) {
        iv[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
      }
      expected = test::rawGcmEsp(key, kSpi, seq, c.esn, iv, test::espPlaintext(inner, 4, 4));
    } else {
      const Bytes iv(ours.begin() + 8, ours.begin() + 24);
      expected = test::rawCbcEsp(key, c.algo.integrity, int_key, kSpi, seq, c.esn, iv,
                                 test::espPlaintext(inner, 4, 16));
    }
    EXPECT_EQ(toHex(ours), toHex(expected)) << seq;
    ASSERT_EQ(pair.decrypt(f), EspDrop::kNone) << seq;
    EXPECT_EQ(toHex(f.bytes()), toHex(inner));
  }
}

TEST_P(EspRoundTrip, TamperedPacketsFailTheIcvWithoutAdvancing) {
  const Case& c = GetParam();
  Pair pair(c.algo, c.esn);
  Frame original(test::ipv4Udp(200));
  ASSERT_EQ(pair.encrypt(original), EspDrop::kNone);
  const Bytes good = original.bytes();
  // Flip one bit anywhere after the SPI (sequence number, IV, ciphertext, ICV).
  for (size_t pos = 4; pos < good.size(); pos += 7) {
    Bytes bad = good;
    bad[pos] ^= 0x10;
    Frame f(bad);
    EXPECT_EQ(pair.decrypt(f), EspDrop::bad_icv) << "byte " << pos;
  }
  // Truncated ICV.
  Frame shorter(Bytes(good.begin(), good.end() - 1));
  EXPECT_NE(pair.decrypt(shorter), EspDrop::kNone);
  // The window did not move: the genuine packet still goes through, once.
  Frame genuine(good);
  EXPECT_EQ(pair.decrypt(genuine), EspDrop::kNone);
  Frame replayed(good);
  EXPECT_EQ(pair.decrypt(replayed), EspDrop::replay);
  EXPECT_GT(pair.worker.counters().drops(EspDrop::bad_icv), 20u);
  EXPECT_EQ(pair.worker.counters().drops(EspDrop::replay), 1u);
}

TEST_P(EspRoundTrip, ReorderedAndReplayedTraffic) {
  const Case& c = GetParam();
  Pair pair(c.algo, c.esn, 64);
  std::vector<Bytes> packets;
  for (int i = 0; i < 200; ++i) {
    Frame f(test::ipv4Udp(60));
    ASSERT_EQ(pair.encrypt(f), EspDrop::kNone);
    packets.push_back(f.bytes());
  }
  auto deliver = [&](int index) {
    Frame f(packets[index]);
    return pair.decrypt(f);
  };
  EXPECT_EQ(deliver(100), EspDrop::kNone);  // seq 101
  EXPECT_EQ(deliver(99), EspDrop::kNone);
  EXPECT_EQ(deliver(50), EspDrop::kNone);  // 51: 50 behind, inside a 64 window
  // 31 is 70 behind. With ESN, a number below the window stands for the next 2^32 subspace
  // (RFC 4303 Appendix A2.2), so the ICV check with that high half rejects it instead.
  const EspDrop old = c.esn ? EspDrop::bad_icv : EspDrop::too_old;
  EXPECT_EQ(deliver(30), old);
  EXPECT_EQ(deliver(100), EspDrop::replay);
  EXPECT_EQ(deliver(199), EspDrop::kNone);
  EXPECT_EQ(deliver(99), old);
  EXPECT_EQ(deliver(198), EspDrop::kNone);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, EspRoundTrip, ::testing::ValuesIn(allCases()),
                         [](const auto& param_info) {
                           return std::string(param_info.param.algo.name) +
                                  (param_info.param.esn ? "_esn" : "");
                         });

// ---- drops ----

const Algo& gcm128() { return test::allAlgos()[0]; }
const Algo& cbcSha1() { return test::allAlgos()[2]; }

TEST(EspDecrypt, UnknownSpiAndShortPackets) {
  Pair pair(gcm128(), false);
  Frame f(test::ipv4Udp(100));
  ASSERT_EQ(pair.encrypt(f), EspDrop::kNone);
  Bytes wrong = f.bytes();
  wrong[0] ^= 0xff;
  Frame w(wrong);
  auto snap = pair.rx.snapshot();
  const SaEntry* entry = &snap->entries()[0];
  EXPECT_EQ(espDecrypt(*snap, w.pkt, pair.worker, &entry), EspDrop::unknown_spi);
  EXPECT_EQ(entry, nullptr);
  const Bytes full = f.bytes();
  for (size_t len : {0, 3, 7, 8, 20, 39}) {
    Frame s(Bytes(full.begin(), full.begin() + static_cast<long>(len)));
    EXPECT_EQ(pair.decrypt(s), EspDrop::malformed) << len;
  }
  // Wrong local address for the SPI.
  const cg_dp_addr other = test::v4(203, 0, 113, 9);
  Frame g(f.bytes());
  EXPECT_EQ(espDecrypt(*pair.rx.snapshot(), g.pkt, pair.worker, &entry, &other),
            EspDrop::unknown_spi);
  const cg_dp_addr ours = test::v4(192, 0, 2, 1);
  EXPECT_EQ(espDecrypt(*pair.rx.snapshot(), g.pkt, pair.worker, &entry, &ours), EspDrop::kNone);
  EXPECT_EQ(pair.worker.counters().drops(EspDrop::unknown_spi), 2u);
  EXPECT_EQ(espDropName(EspDrop::unknown_spi), "unknown_spi");
}

TEST(EspDecrypt, CbcPayloadNotBlockAligned) {
  Pair pair(cbcSha1(), false);
  Frame f(test::ipv4Udp(100));
  ASSERT_EQ(pair.encrypt(f), EspDrop::kNone);
  Bytes b = f.bytes();
  b.insert(b.end() - 12, 0x00);  // one extra ciphertext byte
  Frame g(b);
  EXPECT_EQ(pair.decrypt(g), EspDrop::malformed);
}

// Builds a valid GCM packet around an arbitrary ESP payload (independent encoder), so the checks
// after the ICV can be exercised.
struct Crafted {
  Pair pair{gcm128(), false};
  uint64_t seq = 1;

  EspDrop send(const Bytes& payload, Bytes* inner_out = nullptr) {
    const SaConfig& cfg = pair.outSa().config();
    const Bytes key(cfg.enc_key.bytes().begin(), cfg.enc_key.bytes().end());
    Bytes iv(8, 0);
    iv[7] = static_cast<uint8_t>(seq);
    Frame f(test::rawGcmEsp(key, kSpi, seq, false, iv, payload));
    ++seq;
    EspDrop d = pair.decrypt(f);
    if (inner_out != nullptr) {
      *inner_out = f.bytes();
    }
    return d;
  }
};

TEST(EspDecrypt, PaddingChecks) {
  Crafted c;
  const Bytes inner = test::ipv4Udp(40);
  EXPECT_EQ(c.send(test::espPlaintext(inner, 4, 4)), EspDrop::kNone);
  // Wrong padding byte.
  Bytes p = test::espPlaintext(test::ipv4Udp(41), 4, 4);  // pad 1 byte
  ASSERT_EQ(p[p.size() - 2], 1);
  p[p.size() - 3] = 7;
  EXPECT_EQ(c.send(p), EspDrop::bad_padding);
  // Pad length larger than the payload.
  Bytes q = test::espPlaintext(inner, 4, 4);
  q[q.size() - 2] = 200;
  EXPECT_EQ(c.send(q), EspDrop::bad_padding);
  // Longer, still valid padding (RFC 4303 allows up to 255 bytes).
  Bytes r = inner;
  for (int i = 1; i <= 10; ++i) {
    r.push_back(static_cast<uint8_t>(i));
  }
  r.push_back(10);
  r.push_back(4);
  Bytes got;
  EXPECT_EQ(c.send(r, &got), EspDrop::kNone);
  EXPECT_EQ(toHex(got), toHex(inner));
  EXPECT_EQ(c.pair.worker.counters().drops(EspDrop::bad_padding), 2u);
}

TEST(EspDecrypt, NextHeaderChecks) {
  Crafted c;
  const Bytes inner = test::ipv4Udp(40);
  EXPECT_EQ(c.send(test::espPlaintext(inner, 59, 4)), EspDrop::dummy_packet);
  EXPECT_EQ(c.send(test::espPlaintext(inner, 17, 4)), EspDrop::bad_next_header);
  // Version nibble and next header disagree.
  EXPECT_EQ(c.send(test::espPlaintext(inner, 41, 4)), EspDrop::malformed);
  EXPECT_EQ(c.send(test::espPlaintext(test::ipv6Udp(60), 4, 4)), EspDrop::malformed);
  EXPECT_EQ(c.send(test::espPlaintext(test::ipv6Udp(60), 41, 4)), EspDrop::kNone);
}

TEST(EspDecrypt, InnerHeaderChecksAndTfcPadding) {
  Crafted c;
  // TFC padding after the inner packet is trimmed.
  Bytes inner = test::ipv4Udp(60);
  Bytes padded = inner;
  padded.resize(padded.size() + 37, 0);
  Bytes got;
  EXPECT_EQ(c.send(test::espPlaintext(padded, 4, 4), &got), EspDrop::kNone);
  EXPECT_EQ(toHex(got), toHex(inner));
  EXPECT_EQ(c.pair.inSa().stats().bytes, 60u);
  Bytes v6 = test::ipv6Udp(80);
  Bytes v6padded = v6;
  v6padded.resize(v6padded.size() + 100, 0xee);
  EXPECT_EQ(c.send(test::espPlaintext(v6padded, 41, 4), &got), EspDrop::kNone);
  EXPECT_EQ(toHex(got), toHex(v6));
  // Total length beyond the data, header length below 20, truncated headers.
  Bytes longer = inner;
  longer[3] = 61;
  EXPECT_EQ(c.send(test::espPlaintext(longer, 4, 4)), EspDrop::malformed);
  Bytes ihl = inner;
  ihl[0] = 0x44;
  EXPECT_EQ(c.send(test::espPlaintext(ihl, 4, 4)), EspDrop::malformed);
  EXPECT_EQ(c.send(test::espPlaintext(Bytes(inner.begin(), inner.begin() + 19), 4, 4)),
            EspDrop::malformed);
  Bytes v6zero = v6;
  v6zero[4] = v6zero[5] = 0;
  EXPECT_EQ(c.send(test::espPlaintext(v6zero, 41, 4)), EspDrop::malformed);
  EXPECT_EQ(c.send(test::espPlaintext(Bytes(), 4, 4)), EspDrop::malformed);
}

// Inbound SA restricted to 10.1.0.0/16 -> 10.2.0.0/16, UDP, destination ports 5000-5999.
TEST(EspDecrypt, TrafficSelectors) {
  SaConfig out = test::makeConfig(gcm128(), false, false, kSpi);
  SaConfig in = test::makeConfig(gcm128(), true, false, kSpi);
  in.src_ts = {test::tsV4(0x0a010000, 0x0a01ffff)};
  in.dst_ts = {test::tsV4(0x0a020000, 0x0a02ffff, 17, 5000, 5999),
               test::tsV4(0x0a630000, 0x0a63ffff)};
  Pair pair(std::move(out), std::move(in));
  auto send = [&](const Bytes& inner) {
    Frame f(inner);
    EXPECT_EQ(pair.encrypt(f), EspDrop::kNone);
    return pair.decrypt(f);
  };
  EXPECT_EQ(send(test::ipv4Udp(60, 0x0a010005, 0x0a020007, 1, 5000)), EspDrop::kNone);
  EXPECT_EQ(send(test::ipv4Udp(60, 0x0a010005, 0x0a020007, 1, 5999)), EspDrop::kNone);
  EXPECT_EQ(send(test::ipv4Udp(60, 0x0a010005, 0x0a020007, 1, 6000)), EspDrop::ts_mismatch);
  EXPECT_EQ(send(test::ipv4Udp(60, 0x0a030005, 0x0a020007, 1, 5000)), EspDrop::ts_mismatch);
  EXPECT_EQ(send(test::ipv4Udp(60, 0x0a010005, 0x0a040007, 1, 5000)), EspDrop::ts_mismatch);
  // The second destination selector: any protocol and port.
  EXPECT_EQ(send(test::ipv4Udp(60, 0x0a010005, 0x0a630001, 1, 1)), EspDrop::kNone);
  // TCP to a UDP-only selector.
  Bytes tcp = test::ipv4Udp(60, 0x0a010005, 0x0a020007, 1, 5000);
  tcp[9] = 6;
  EXPECT_EQ(send(tcp), EspDrop::ts_mismatch);
  // A non-first fragment has no ports: it cannot match a port-restricted selector.
  Bytes frag = test::ipv4Udp(60, 0x0a010005, 0x0a020007, 1, 5000);
  frag[6] = 0x00;
  frag[7] = 0x10;
  EXPECT_EQ(send(frag), EspDrop::ts_mismatch);
  // IPv6 against IPv4 selectors.
  EXPECT_EQ(send(test::ipv6Udp(80)), EspDrop::ts_mismatch);
  EXPECT_EQ(pair.worker.counters().drops(EspDrop::ts_mismatch), 6u);
}

TEST(SaConfigValidation, InboundSaNeedsSelectors) {
  SaConfig in = test::makeConfig(gcm128(), true, false, kSpi);
  in.src_ts.clear();
  SaTable table(1);
  Status s = table.install(std::move(in), 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("traffic selectors"), std::string::npos);
}

// ---- outbound ----

TEST(EspEncrypt, NoSaNoRoomAndMalformed) {
  Pair pair(gcm128(), false);
  Frame f(test::ipv4Udp(100));
  const SaEntry* entry = nullptr;
  EXPECT_EQ(espEncrypt(*pair.tx.snapshot(), 99, f.pkt, pair.worker, &entry), EspDrop::no_sa);
  EXPECT_EQ(entry, nullptr);
  Frame no_head(test::ipv4Udp(100), 8, 64);
  EXPECT_EQ(pair.encrypt(no_head), EspDrop::no_room);
  Frame no_tail(test::ipv4Udp(100), 96, 10);
  EXPECT_EQ(pair.encrypt(no_tail), EspDrop::no_room);
  Bytes junk = test::ipv4Udp(100);
  junk[0] = 0x25;
  Frame j(junk);
  EXPECT_EQ(pair.encrypt(j), EspDrop::malformed);
  EXPECT_EQ(toHex(j.bytes()), toHex(junk));
  // Failed attempts consumed no sequence numbers.
  EXPECT_EQ(pair.outSa().nextSequence(), 1u);
  EXPECT_EQ(pair.worker.counters().drops(EspDrop::no_room), 2u);
}

TEST(EspEncrypt, SequenceOverflowWithoutEsnRefusesAndExpires) {
  Pair pair(gcm128(), false);
  Sa::Internals::nextSeq(pair.outSa()).store(0xfffffffeull);
  Frame a(test::ipv4Udp(60));
  ASSERT_EQ(pair.encrypt(a), EspDrop::kNone);
  Frame b(test::ipv4Udp(60));
  ASSERT_EQ(pair.encrypt(b), EspDrop::kNone);  // 2^32 - 1: the last one
  EXPECT_EQ(toHex(b.pkt.data() + 4, 4), "ffffffff");
  EXPECT_FALSE(pair.worker.takeExpireEdge());
  Frame c(test::ipv4Udp(60));
  EXPECT_EQ(pair.encrypt(c), EspDrop::seq_overflow);
  EXPECT_TRUE(pair.worker.takeExpireEdge());
  EXPECT_TRUE(pair.outSa().hardExpired());
  Frame d(test::ipv4Udp(60));
  EXPECT_EQ(pair.encrypt(d), EspDrop::sa_expired);
  std::vector<SaExpire> events;
  pair.tx.collectExpires(100, &events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].hard);
  EXPECT_FALSE(events[0].inbound);
  EXPECT_EQ(events[0].spi, htonl(kSpi));
  events.clear();
  pair.tx.collectExpires(100, &events);
  EXPECT_TRUE(events.empty());
}

TEST(EspEncrypt, EsnContinuesPast2To32) {
  Pair pair(gcm128(), true);
  Sa::Internals::nextSeq(pair.outSa()).store(0xffffffffull);
  for (int i = 0; i < 3; ++i) {
    Frame f(test::ipv4Udp(60));
    ASSERT_EQ(pair.encrypt(f), EspDrop::kNone);
  }
  EXPECT_EQ(pair.outSa().nextSequence(), 0x100000002ull);
  EXPECT_FALSE(pair.outSa().hardExpired());
}

TEST(EspEncrypt, CbcIvsAreDistinctAndUnpredictableAcrossSas) {
  Pair a(cbcSha1(), false);
  Pair b(cbcSha1(), false);  // same keys, different random IV key
  Frame fa(test::ipv4Udp(60));
  Frame fb(test::ipv4Udp(60));
  ASSERT_EQ(a.encrypt(fa), EspDrop::kNone);
  ASSERT_EQ(b.encrypt(fb), EspDrop::kNone);
  EXPECT_NE(toHex(fa.pkt.data() + 8, 16), toHex(fb.pkt.data() + 8, 16));
  std::set<std::string> ivs;
  for (int i = 0; i < 1000; ++i) {
    Frame f(test::ipv4Udp(60));
    ASSERT_EQ(a.encrypt(f), EspDrop::kNone);
    ivs.insert(toHex(f.pkt.data() + 8, 16));
  }
  EXPECT_EQ(ivs.size(), 1000u);
}

TEST(EspBatch, EncryptAndDecryptBatches) {
  Pair pair(gcm128(), false);
  std::vector<Frame> frames;
  for (int i = 0; i < 32; ++i) {
    frames.emplace_back(test::ipv4Udp(40 + i));
  }
  std::vector<PacketBuf> bufs;
  for (Frame& f : frames) {
    bufs.push_back(f.pkt);
  }
  std::vector<EspDrop> verdicts(bufs.size());
  espEncryptBatch(*pair.tx.snapshot()->findOutbound(7), bufs, verdicts, pair.worker);
  for (EspDrop v : verdicts) {
    EXPECT_EQ(v, EspDrop::kNone);
  }
  std::vector<EspRxResult> results(bufs.size());
  espDecryptBatch(*pair.rx.snapshot(), bufs, results, pair.worker);
  for (size_t i = 0; i < bufs.size(); ++i) {
    EXPECT_EQ(results[i].drop, EspDrop::kNone);
    EXPECT_EQ(results[i].entry->sa->ifId(), 7u);
    EXPECT_EQ(bufs[i].length, 40 + i);
  }
}

// Several workers decrypt the same packets (each packet delivered twice, to both): each
// sequence number is accepted exactly once.
TEST(EspConcurrency, ParallelDecryptAcceptsEachPacketOnce) {
  Pair pair(gcm128(), false);
  std::vector<Bytes> packets;
  for (int i = 0; i < 3000; ++i) {
    Frame f(test::ipv4Udp(100));
    ASSERT_EQ(pair.encrypt(f), EspDrop::kNone);
    packets.push_back(f.bytes());
  }
  auto snap = pair.rx.snapshot();
  std::atomic<int> accepted{0};
  auto run = [&](unsigned index) {
    EspWorker worker(index);
    for (int round = 0; round < 2; ++round) {
      for (const Bytes& p : packets) {
        Frame f(p);
        const SaEntry* e = nullptr;
        if (espDecrypt(*snap, f.pkt, worker, &e) == EspDrop::kNone) {
          accepted.fetch_add(1);
        }
      }
    }
  };
  std::thread t0(run, 0);
  std::thread t1(run, 1);
  t0.join();
  t1.join();
  EXPECT_EQ(accepted.load(), 3000);
  EXPECT_EQ(pair.inSa().stats().packets, 3000u);
}

TEST(EspWorkerIndex, OutOfRangeIsRefused) {
  Pair pair(gcm128(), false);  // tables built for 2 workers
  EspWorker w(2);
  Frame f(test::ipv4Udp(60));
  const SaEntry* e = nullptr;
  EXPECT_EQ(espEncrypt(*pair.tx.snapshot(), 7, f.pkt, w, &e), EspDrop::bad_worker);
}

}  // namespace
}  // namespace crossgate::dataplane
