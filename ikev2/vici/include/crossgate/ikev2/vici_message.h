// VICI messages (strongSwan's Versatile IKE Control Interface): the tree model, the message codec
// and the packet layer. The wire format is strongSwan 5.9.8's src/libcharon/plugins/vici/README.md:
// a message is a sequence of elements (SECTION_START/END, KEY_VALUE, LIST_START/ITEM/END); a
// packet is one type byte, a name for named types, and a message for the types that carry one;
// a segment on the stream is a big-endian uint32 length followed by the packet.
//
// Limits, enforced on encode and decode: names <= 255 bytes, values <= 65535 bytes, a packet
// (the segment payload) <= 512 KiB, section nesting <= kMaxDepth. Decoding also enforces
// strongSwan's validity rules: balanced sections, lists closed and not nested, only list items
// inside lists, names unique within a section, no trailing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/common/result.h"

namespace crossgate::vici {

inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxValueLength = 65535;
inline constexpr size_t kMaxPacketSize = 512 * 1024;  // VICI_MESSAGE_SIZE_MAX
inline constexpr size_t kMaxDepth = 32;               // charon nests at most ~6 levels

// Element types on the wire (vici_message.h).
enum class ElementType : uint8_t {
  kSectionStart = 1,
  kSectionEnd = 2,
  kKeyValue = 3,
  kListStart = 4,
  kListItem = 5,
  kListEnd = 6,
};

struct Entry;

// An ordered set of named entries: key/values, lists of values and sub-sections. Values are
// byte strings (charon uses decimal numbers and yes/no). References returned by addSection()
// stay valid until the next add to the same section.
class Section {
 public:
  Section() = default;
  Section(const Section&);
  Section& operator=(const Section&);
  Section(Section&&) noexcept = default;
  Section& operator=(Section&&) noexcept = default;
  ~Section();

  Section& add(std::string_view name, std::string_view value);
  // A value that must never appear in logs (a PSK): toString() masks it.
  Section& addSecret(std::string_view name, std::string_view value);
  Section& addList(std::string_view name, std::vector<std::string> items);
  Section& addSection(std::string_view name);
  // Appends a sub-section that was built separately.
  Section& addSection(std::string_view name, Section section);

  const Entry* find(std::string_view name) const;
  std::optional<std::string_view> value(std::string_view name) const;
  std::string valueOr(std::string_view name, std::string_view fallback) const;
  const std::vector<std::string>* list(std::string_view name) const;
  const Section* section(std::string_view name) const;

  const std::vector<Entry>& entries() const noexcept { return entries_; }
  std::vector<Entry>& mutableEntries() noexcept { return entries_; }
  bool empty() const noexcept;
  size_t size() const noexcept;

  bool operator==(const Section& other) const;

  // A readable one-line rendering for logs and test failures, secrets masked:
  // {a=1 l=[x, y] s={k=v}}
  std::string toString() const;

 private:
  std::vector<Entry> entries_;
};

using Message = Section;

struct Entry {
  enum class Kind : uint8_t { kValue, kList, kSection };
  Kind kind = Kind::kValue;
  bool secret = false;
  std::string name;
  std::string value;               // kValue
  std::vector<std::string> items;  // kList
  Section section;                 // kSection

  bool operator==(const Entry& other) const;
};

inline bool Section::empty() const noexcept { return entries_.empty(); }
inline size_t Section::size() const noexcept { return entries_.size(); }

// Appends the encoding of `message` to `out`. Fails (and leaves `out` as it was) if a name,
// value or the total exceeds the limits or names repeat within a section.
Status encodeMessage(const Message& message, std::vector<uint8_t>& out);
Result<Message> decodeMessage(std::span<const uint8_t> bytes);

// Packet types (vici_dispatcher.h).
enum class PacketType : uint8_t {
  kCmdRequest = 0,
  kCmdResponse = 1,
  kCmdUnknown = 2,
  kEventRegister = 3,
  kEventUnregister = 4,
  kEventConfirm = 5,
  kEventUnknown = 6,
  kEvent = 7,
};

const char* toString(PacketType type);
bool packetIsNamed(PacketType type);
bool packetHasMessage(PacketType type);

struct Packet {
  PacketType type = PacketType::kCmdRequest;
  std::string name;  // commands and events
  Message message;   // requests, responses and events
};

// A whole segment: 4-byte big-endian length + packet. Fails over kMaxPacketSize.
Result<std::vector<uint8_t>> encodePacket(const Packet& packet);
// Decodes the packet bytes that follow the segment length (`bytes` = the segment payload).
Result<Packet> decodePacket(std::span<const uint8_t> bytes);

// Overwrites a buffer that held secrets (an encoded load-shared request) before it is freed.
void wipe(std::vector<uint8_t>& buffer) noexcept;

// Charon's boolean spellings (vici_config.c): yes/true/enabled/1 and no/false/disabled/0.
std::optional<bool> parseBool(std::string_view text);

}  // namespace crossgate::vici
