// Fuzz target: ESP decapsulation against real installed SAs (fixed keys).
//
// Input: byte 0 selects the path, byte 1 the SA (algorithm, ESN, selectors); the rest drives it.
//  path 0 (raw):     SPI of the chosen SA | the fuzz bytes  -> espDecrypt. Exercises every check
//                    before and at the ICV on arbitrary data.
//  path 1 (flip):    the fuzz bytes behind an IPv4 header form an inner packet; it is encrypted
//                    with the matching outbound SA, then bytes 2-4 choose a bit flip (position,
//                    mask; mask 0 = no flip) before espDecrypt. Oracle: an unmodified packet
//                    decrypts to exactly the inner packet; any flip is detected.
//  path 2 (crafted): the fuzz bytes are the ESP plaintext (inner | padding | trailer), sealed
//                    with the SA's real keys, so arbitrary plaintexts pass the ICV and reach the
//                    trailer, inner-header and traffic-selector checks. Oracle: a delivered
//                    packet is a whole IPv4/IPv6 packet inside the plaintext.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "crossgate/dataplane/esp.h"
#include "esp_crypto.h"

namespace cg = crossgate::dataplane;

namespace {

struct Choice {
  cg::EspCipher cipher;
  cg::EspIntegrity integrity;
  size_t enc_key_len;
  size_t int_key_len;
  bool esn;
  bool narrow_ts;
};

const Choice kChoices[] = {
    {cg::EspCipher::kAesGcm16, cg::EspIntegrity::kNone, 20, 0, false, false},
    {cg::EspCipher::kAesGcm16, cg::EspIntegrity::kNone, 36, 0, true, true},
    {cg::EspCipher::kAesCbc, cg::EspIntegrity::kHmacSha1_96, 16, 20, false, true},
    {cg::EspCipher::kAesCbc, cg::EspIntegrity::kHmacSha512_256, 32, 64, true, false},
};

constexpr uint32_t kSpi = 0xc0de0001;

cg::TrafficSelector ts(uint8_t family, uint8_t first, uint8_t proto, uint16_t p0, uint16_t p1) {
  cg::TrafficSelector t;
  t.family = family;
  t.protocol = proto;
  t.from_port = p0;
  t.to_port = p1;
  t.from[0] = first;
  t.to.fill(0xff);
  return t;
}

cg::SaConfig config(const Choice& c, bool inbound) {
  cg::SaConfig s;
  s.src.family = s.dst.family = 4;
  s.src.addr[0] = inbound ? 198 : 192;
  s.dst.addr[0] = inbound ? 192 : 198;
  s.spi = htonl(kSpi);
  s.if_id = 1;
  s.inbound = inbound;
  s.esn = c.esn;
  s.cipher = c.cipher;
  s.integrity = c.integrity;
  std::vector<uint8_t> key(c.enc_key_len);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(0xa0 + i);
  }
  s.enc_key = crossgate::Secret(key);
  std::vector<uint8_t> ikey(c.int_key_len, 0x5c);
  s.int_key = crossgate::Secret(ikey);
  s.replay_window = 64;
  if (c.narrow_ts) {
    s.src_ts = {ts(4, 10, 0, 0, 65535), ts(6, 0x20, 17, 53, 53)};
    s.dst_ts = {ts(4, 0, 6, 1000, 2000), ts(6, 0, 0, 0, 65535), ts(4, 0, 1, 0x0800, 0x08ff)};
  } else {
    s.src_ts = {ts(4, 0, 0, 0, 65535), ts(6, 0, 0, 0, 65535)};
    s.dst_ts = s.src_ts;
  }
  return s;
}

[[noreturn]] void oracleFailed() { std::abort(); }

struct Buffer {
  std::vector<uint8_t> bytes;
  cg::PacketBuf pkt;
  Buffer(const uint8_t* data, size_t len) : bytes(cg::kPacketHeadroom + len + cg::kPacketTailroom) {
    if (len != 0) {
      std::memcpy(bytes.data() + cg::kPacketHeadroom, data, len);
    }
    pkt = cg::PacketBuf(bytes.data(), static_cast<uint32_t>(bytes.size()), cg::kPacketHeadroom,
                        static_cast<uint32_t>(len));
  }
};

void rawPath(const cg::SaSnapshot& snap, const uint8_t* data, size_t size, cg::EspWorker& w) {
  std::vector<uint8_t> packet(4);
  const uint32_t spi = htonl(kSpi);
  std::memcpy(packet.data(), &spi, 4);
  packet.insert(packet.end(), data, data + size);
  Buffer b(packet.data(), packet.size());
  const cg::SaEntry* e = nullptr;
  if (cg::espDecrypt(snap, b.pkt, w, &e) == cg::EspDrop::kNone) {
    oracleFailed();  // forging a valid ICV from fuzz bytes would be a break of the cipher
  }
}

void flipPath(const cg::SaSnapshot& tx, const cg::SaSnapshot& rx, const uint8_t* data, size_t size,
              cg::EspWorker& w) {
  if (size < 3 || size > 60000) {
    return;
  }
  const uint16_t flip_pos = static_cast<uint16_t>(data[0] << 8 | data[1]);
  const uint8_t mask = data[2];
  std::vector<uint8_t> inner(20);
  inner.insert(inner.end(), data + 3, data + size);
  inner[0] = 0x45;
  inner[2] = static_cast<uint8_t>(inner.size() >> 8);
  inner[3] = static_cast<uint8_t>(inner.size());
  inner[9] = 17;
  inner[12] = 10;  // 10.0.0.0 -> 20.0.0.0, inside every selector set's IPv4 ranges when UDP
  inner[16] = 20;
  Buffer b(inner.data(), inner.size());
  const cg::SaEntry* e = nullptr;
  if (cg::espEncrypt(tx, 1, b.pkt, w, &e) != cg::EspDrop::kNone) {
    oracleFailed();
  }
  const bool flipped = mask != 0 && flip_pos < b.pkt.length;
  if (flipped) {
    b.pkt.data()[flip_pos] ^= mask;
  }
  const cg::EspDrop verdict = cg::espDecrypt(rx, b.pkt, w, &e);
  if (flipped) {
    if (verdict == cg::EspDrop::kNone) {
      oracleFailed();
    }
    return;
  }
  // Unmodified: delivered intact unless the narrow selectors reject this UDP flow.
  if (verdict == cg::EspDrop::ts_mismatch) {
    return;
  }
  if (verdict != cg::EspDrop::kNone || b.pkt.length != inner.size() ||
      std::memcmp(b.pkt.data(), inner.data(), inner.size()) != 0) {
    oracleFailed();
  }
}

void craftedPath(const Choice& c, const cg::SaSnapshot& rx, const uint8_t* data, size_t size,
                 cg::EspWorker& w) {
  auto crypto = cg::SaCrypto::create(config(c, false), 1);
  if (!crypto.ok()) {
    oracleFailed();
  }
  cg::SaCrypto& sc = **crypto;
  const uint32_t align = sc.align();
  const size_t plain_len = size / align * align;
  if (plain_len == 0 || plain_len > 60000) {
    return;
  }
  const uint32_t hdr = 8 + sc.ivLen();
  std::vector<uint8_t> packet(hdr + plain_len + sc.icvLen());
  const uint32_t spi = htonl(kSpi);
  std::memcpy(packet.data(), &spi, 4);
  packet[7] = 1;  // sequence number 1 (high half 0)
  std::memcpy(packet.data() + hdr, data, plain_len);
  uint8_t* payload = packet.data() + hdr;
  uint8_t* icv = payload + plain_len;
  bool ok;
  if (sc.gcm()) {
    packet[15] = 1;  // IV
    uint8_t aad[12] = {};
    std::memcpy(aad, packet.data(), 4);
    aad[c.esn ? 11 : 7] = 1;
    ok = sc.gcmSeal(sc.worker(0), packet.data() + 8, aad, c.esn ? 12 : 8, payload,
                    static_cast<uint32_t>(plain_len), icv);
  } else {
    std::memset(packet.data() + 8, 0x42, 16);
    const uint8_t hi[4] = {};
    ok =
        sc.cbcEncrypt(sc.worker(0), packet.data() + 8, payload, static_cast<uint32_t>(plain_len)) &&
        sc.hmac(sc.worker(0), packet.data(), static_cast<uint32_t>(hdr + plain_len), hi,
                c.esn ? 4 : 0, icv);
  }
  if (!ok) {
    oracleFailed();
  }
  Buffer b(packet.data(), packet.size());
  const cg::SaEntry* e = nullptr;
  const cg::EspDrop verdict = cg::espDecrypt(rx, b.pkt, w, &e);
  if (verdict == cg::EspDrop::bad_icv || verdict == cg::EspDrop::replay) {
    oracleFailed();  // the packet is authentic and fresh
  }
  if (verdict == cg::EspDrop::kNone) {
    const uint8_t version = b.pkt.data()[0] >> 4;
    if (b.pkt.length + 2 > plain_len ||
        b.pkt.data() != b.bytes.data() + cg::kPacketHeadroom + hdr ||
        (version != 4 && version != 6) || std::memcmp(b.pkt.data(), data, b.pkt.length) != 0) {
      oracleFailed();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t path = data[0] % 3;
  const Choice& choice = kChoices[data[1] % 4];
  cg::SaTable tx(1);
  cg::SaTable rx(1);
  if (!tx.install(config(choice, false), 0).ok() || !rx.install(config(choice, true), 0).ok()) {
    oracleFailed();
  }
  cg::EspWorker worker(0);
  auto tx_snap = tx.snapshot();
  auto rx_snap = rx.snapshot();
  switch (path) {
    case 0:
      rawPath(*rx_snap, data + 2, size - 2, worker);
      break;
    case 1:
      flipPath(*tx_snap, *rx_snap, data + 2, size - 2, worker);
      break;
    default:
      craftedPath(choice, *rx_snap, data + 2, size - 2, worker);
      break;
  }
  return 0;
}
