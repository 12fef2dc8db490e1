#include "crossgate/ikev2/vici_message.h"

#include <fmt/format.h>
#include <string.h>

#include <algorithm>
#include <unordered_set>

namespace crossgate::vici {

// ---- Section -----------------------------------------------------------------------------

Section::Section(const Section&) = default;
Section& Section::operator=(const Section&) = default;
Section::~Section() = default;

Section& Section::add(std::string_view name, std::string_view value) {
  Entry& e = entries_.emplace_back();
  e.kind = Entry::Kind::kValue;
  e.name = name;
  e.value = value;
  return *this;
}

Section& Section::addSecret(std::string_view name, std::string_view value) {
  add(name, value);
  entries_.back().secret = true;
  return *this;
}

Section& Section::addList(std::string_view name, std::vector<std::string> items) {
  Entry& e = entries_.emplace_back();
  e.kind = Entry::Kind::kList;
  e.name = name;
  e.items = std::move(items);
  return *this;
}

Section& Section::addSection(std::string_view name) { return addSection(name, Section()); }

Section& Section::addSection(std::string_view name, Section section) {
  Entry& e = entries_.emplace_back();
  e.kind = Entry::Kind::kSection;
  e.name = name;
  e.section = std::move(section);
  return e.section;
}

const Entry* Section::find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

std::optional<std::string_view> Section::value(std::string_view name) const {
  const Entry* e = find(name);
  if (e == nullptr || e->kind != Entry::Kind::kValue) {
    return std::nullopt;
  }
  return std::string_view(e->value);
}

std::string Section::valueOr(std::string_view name, std::string_view fallback) const {
  return std::string(value(name).value_or(fallback));
}

const std::vector<std::string>* Section::list(std::string_view name) const {
  const Entry* e = find(name);
  return e != nullptr && e->kind == Entry::Kind::kList ? &e->items : nullptr;
}

const Section* Section::section(std::string_view name) const {
  const Entry* e = find(name);
  return e != nullptr && e->kind == Entry::Kind::kSection ? &e->section : nullptr;
}

bool Section::operator==(const Section& other) const { return entries_ == other.entries_; }

bool Entry::operator==(const Entry& other) const {
  return kind == other.kind && name == other.name && value == other.value && items == other.items &&
         section == other.section;
}

std::string Section::toString() const {
  std::string out = "{";
  bool first = true;
  for (const Entry& e : entries_) {
    if (!first) {
      out += ' ';
    }
    first = false;
    out += e.name;
    out += '=';
    switch (e.kind) {
      case Entry::Kind::kValue:
        out += e.secret ? "***" : e.value;
        break;
      case Entry::Kind::kList:
        out += '[';
        for (size_t i = 0; i < e.items.size(); ++i) {
          out += i ? ", " : "";
          out += e.items[i];
        }
        out += ']';
        break;
      case Entry::Kind::kSection:
        out += e.section.toString();
        break;
    }
  }
  out += '}';
  return out;
}

// ---- message encoding --------------------------------------------------------------------

namespace {

void putU8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }

void putU16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

void putBytes(std::vector<uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

Status putName(std::vector<uint8_t>& out, std::string_view name, std::string_view where) {
  if (name.size() > kMaxNameLength) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("{}: name of {} bytes exceeds the VICI limit of {}", where,
                                 name.size(), kMaxNameLength));
  }
  putU8(out, static_cast<uint8_t>(name.size()));
  putBytes(out, name);
  return okStatus();
}

Status putValue(std::vector<uint8_t>& out, std::string_view value, std::string_view where) {
  if (value.size() > kMaxValueLength) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("{}: value of {} bytes exceeds the VICI limit of {}", where,
                                 value.size(), kMaxValueLength));
  }
  putU16(out, static_cast<uint16_t>(value.size()));
  putBytes(out, value);
  return okStatus();
}

Status encodeSection(const Section& section, std::vector<uint8_t>& out, size_t depth,
                     const std::string& path) {
  if (depth > kMaxDepth) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("{}: sections nest deeper than {}", path, kMaxDepth));
  }
  std::unordered_set<std::string_view> seen;
  for (const Entry& e : section.entries()) {
    const std::string where = path.empty() ? e.name : path + "." + e.name;
    if (!seen.insert(e.name).second) {
      return makeError(Errc::kInvalidArgument, fmt::format("{}: duplicate name", where));
    }
    switch (e.kind) {
      case Entry::Kind::kValue: {
        putU8(out, static_cast<uint8_t>(ElementType::kKeyValue));
        if (auto s = putName(out, e.name, where); !s) return s;
        if (auto s = putValue(out, e.value, where); !s) return s;
        break;
      }
      case Entry::Kind::kList: {
        putU8(out, static_cast<uint8_t>(ElementType::kListStart));
        if (auto s = putName(out, e.name, where); !s) return s;
        for (const std::string& item : e.items) {
          putU8(out, static_cast<uint8_t>(ElementType::kListItem));
          if (auto s = putValue(out, item, where); !s) return s;
        }
        putU8(out, static_cast<uint8_t>(ElementType::kListEnd));
        break;
      }
      case Entry::Kind::kSection: {
        putU8(out, static_cast<uint8_t>(ElementType::kSectionStart));
        if (auto s = putName(out, e.name, where); !s) return s;
        if (auto s = encodeSection(e.section, out, depth + 1, where); !s) return s;
        putU8(out, static_cast<uint8_t>(ElementType::kSectionEnd));
        break;
      }
    }
    if (out.size() > kMaxPacketSize) {
      return makeError(Errc::kInvalidArgument,
                       fmt::format("message exceeds the VICI limit of {} bytes", kMaxPacketSize));
    }
  }
  return okStatus();
}

}  // namespace

Status encodeMessage(const Message& message, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  Status s = encodeSection(message, out, 1, "");
  if (!s) {
    std::fill(out.begin() + static_cast<ptrdiff_t>(start), out.end(), 0);
    out.resize(start);
  }
  return s;
}

// ---- message decoding --------------------------------------------------------------------

namespace {

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t offset() const { return pos_; }
  bool done() const { return pos_ == bytes_.size(); }

  bool u8(uint8_t& v) {
    if (bytes_.size() - pos_ < 1) return false;
    v = bytes_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (bytes_.size() - pos_ < 2) return false;
    v = static_cast<uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool str(size_t len, std::string& out) {
    if (bytes_.size() - pos_ < len) return false;
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

Error decodeError(size_t offset, std::string_view what) {
  return makeError(Errc::kProtocol, fmt::format("VICI message, byte {}: {}", offset, what));
}

// Decodes iteratively (no recursion on untrusted nesting).
class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> bytes) : r_(bytes) {}

  Result<Message> run() {
    Message root;
    stack_.push_back(&root);
    names_.emplace_back();
    while (!r_.done()) {
      const size_t at = r_.offset();
      uint8_t type = 0;
      (void)r_.u8(type);
      Status s = element(type, at);
      if (!s) {
        return std::move(s).error();
      }
    }
    if (in_list_) {
      return decodeError(r_.offset(), "list not closed");
    }
    if (stack_.size() != 1) {
      return decodeError(r_.offset(), "section not closed");
    }
    return root;
  }

 private:
  Status readName(std::string& name, size_t at) {
    uint8_t len = 0;
    if (!r_.u8(len) || !r_.str(len, name)) {
      return decodeError(at, "truncated name");
    }
    if (!names_.back().insert(name).second) {
      return decodeError(at, fmt::format("duplicate name '{}' in section", name));
    }
    return okStatus();
  }

  Status readValue(std::string& value, size_t at) {
    uint16_t len = 0;
    if (!r_.u16(len) || !r_.str(len, value)) {
      return decodeError(at, "truncated value");
    }
    return okStatus();
  }

  Status element(uint8_t type, size_t at) {
    if (in_list_ && type != static_cast<uint8_t>(ElementType::kListItem) &&
        type != static_cast<uint8_t>(ElementType::kListEnd)) {
      return decodeError(at, fmt::format("element type {} inside a list", type));
    }
    Section& current = *stack_.back();
    std::string name;
    switch (static_cast<ElementType>(type)) {
      case ElementType::kSectionStart: {
        if (stack_.size() >= kMaxDepth) {
          return decodeError(at, fmt::format("sections nest deeper than {}", kMaxDepth));
        }
        if (auto s = readName(name, at); !s) return s;
        stack_.push_back(&current.addSection(name));
        names_.emplace_back();
        return okStatus();
      }
      case ElementType::kSectionEnd:
        if (stack_.size() == 1) {
          return decodeError(at, "section end without a section");
        }
        stack_.pop_back();
        names_.pop_back();
        return okStatus();
      case ElementType::kKeyValue: {
        std::string value;
        if (auto s = readName(name, at); !s) return s;
        if (auto s = readValue(value, at); !s) return s;
        current.add(name, value);
        return okStatus();
      }
      case ElementType::kListStart:
        if (auto s = readName(name, at); !s) return s;
        current.addList(name, {});
        in_list_ = true;
        return okStatus();
      case ElementType::kListItem: {
        if (!in_list_) {
          return decodeError(at, "list item outside a list");
        }
        std::string value;
        if (auto s = readValue(value, at); !s) return s;
        current.mutableEntries().back().items.push_back(std::move(value));
        return okStatus();
      }
      case ElementType::kListEnd:
        if (!in_list_) {
          return decodeError(at, "list end outside a list");
        }
        in_list_ = false;
        return okStatus();
    }
    return decodeError(at, fmt::format("unknown element type {}", type));
  }

  Reader r_;
  std::vector<Section*> stack_;
  std::vector<std::unordered_set<std::string>> names_;
  bool in_list_ = false;
};

}  // namespace

Result<Message> decodeMessage(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxPacketSize) {
    return makeError(Errc::kProtocol,
                     fmt::format("VICI message of {} bytes exceeds the limit of {}", bytes.size(),
                                 kMaxPacketSize));
  }
  return Decoder(bytes).run();
}

// ---- packets -----------------------------------------------------------------------------

const char* toString(PacketType type) {
  switch (type) {
    case PacketType::kCmdRequest:
      return "CMD_REQUEST";
    case PacketType::kCmdResponse:
      return "CMD_RESPONSE";
    case PacketType::kCmdUnknown:
      return "CMD_UNKNOWN";
    case PacketType::kEventRegister:
      return "EVENT_REGISTER";
    case PacketType::kEventUnregister:
      return "EVENT_UNREGISTER";
    case PacketType::kEventConfirm:
      return "EVENT_CONFIRM";
    case PacketType::kEventUnknown:
      return "EVENT_UNKNOWN";
    case PacketType::kEvent:
      return "EVENT";
  }
  return "UNKNOWN";
}

bool packetIsNamed(PacketType type) {
  return type == PacketType::kCmdRequest || type == PacketType::kEventRegister ||
         type == PacketType::kEventUnregister || type == PacketType::kEvent;
}

bool packetHasMessage(PacketType type) {
  return type == PacketType::kCmdRequest || type == PacketType::kCmdResponse ||
         type == PacketType::kEvent;
}

Result<std::vector<uint8_t>> encodePacket(const Packet& packet) {
  if (static_cast<uint8_t>(packet.type) > static_cast<uint8_t>(PacketType::kEvent)) {
    return makeError(Errc::kInvalidArgument, "VICI packet: invalid type");
  }
  std::vector<uint8_t> out(4, 0);
  out.push_back(static_cast<uint8_t>(packet.type));
  if (packetIsNamed(packet.type)) {
    if (auto s = putName(out, packet.name, fmt::format("{} name", toString(packet.type))); !s) {
      return std::move(s).error();
    }
  }
  if (packetHasMessage(packet.type)) {
    if (auto s = encodeMessage(packet.message, out); !s) {
      wipe(out);
      return makeError(s.error().code, fmt::format("VICI {} '{}': {}", toString(packet.type),
                                                   packet.name, s.error().message));
    }
  }
  const size_t len = out.size() - 4;
  if (len > kMaxPacketSize) {
    wipe(out);
    return makeError(Errc::kInvalidArgument,
                     fmt::format("VICI {} '{}': packet of {} bytes exceeds the limit of {}",
                                 toString(packet.type), packet.name, len, kMaxPacketSize));
  }
  out[0] = static_cast<uint8_t>(len >> 24);
  out[1] = static_cast<uint8_t>(len >> 16);
  out[2] = static_cast<uint8_t>(len >> 8);
  out[3] = static_cast<uint8_t>(len);
  return out;
}

Result<Packet> decodePacket(std::span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return makeError(Errc::kProtocol, "VICI packet: empty");
  }
  if (bytes.size() > kMaxPacketSize) {
    return makeError(Errc::kProtocol, fmt::format("VICI packet of {} bytes exceeds the limit of {}",
                                                  bytes.size(), kMaxPacketSize));
  }
  if (bytes[0] > static_cast<uint8_t>(PacketType::kEvent)) {
    return makeError(Errc::kProtocol, fmt::format("VICI packet: unknown type {}", bytes[0]));
  }
  Packet packet;
  packet.type = static_cast<PacketType>(bytes[0]);
  size_t pos = 1;
  if (packetIsNamed(packet.type)) {
    if (bytes.size() < 2 || bytes.size() - 2 < bytes[1]) {
      return makeError(Errc::kProtocol,
                       fmt::format("VICI {} packet: truncated name", toString(packet.type)));
    }
    packet.name.assign(reinterpret_cast<const char*>(bytes.data() + 2), bytes[1]);
    pos = 2 + bytes[1];
  }
  if (packetHasMessage(packet.type)) {
    auto message = decodeMessage(bytes.subspan(pos));
    if (!message) {
      return makeError(Errc::kProtocol, fmt::format("VICI {} '{}': {}", toString(packet.type),
                                                    packet.name, message.error().message));
    }
    packet.message = std::move(message).value();
  } else if (pos != bytes.size()) {
    return makeError(Errc::kProtocol, fmt::format("VICI {} packet: {} unexpected trailing bytes",
                                                  toString(packet.type), bytes.size() - pos));
  }
  return packet;
}

void wipe(std::vector<uint8_t>& buffer) noexcept {
  if (!buffer.empty()) {
    explicit_bzero(buffer.data(), buffer.size());
  }
}

std::optional<bool> parseBool(std::string_view text) {
  if (text == "yes" || text == "true" || text == "enabled" || text == "1") return true;
  if (text == "no" || text == "false" || text == "disabled" || text == "0") return false;
  return std::nullopt;
}

}  // namespace crossgate::vici
