// Parsers and checks for the scalar values of the config file. Each returns nullopt/false on
// failure and sets *error to a message a person can act on (without the key path, which the
// caller adds).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "crossgate/common/net.h"
#include "crossgate/mgmt/config.h"

namespace crossgate::config::detail {

std::optional<IpAddress> parseIp(std::string_view text, std::string* error);
// Strict: host bits set is an error that suggests the network address.
std::optional<Cidr> parseCidr(std::string_view text, std::string* error);
// "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address; port 1..65535 (default 53).
std::optional<DnsEndpoint> parseEndpoint(std::string_view text, uint16_t default_port,
                                         std::string* error);
// Like parseEndpoint but the port is required ("127.0.0.1:9469", "[::1]:9469").
bool isValidListenAddress(std::string_view text, std::string* error);

// Lower-cases and strips one trailing dot; labels 1..63 of [a-z0-9_-] not starting or ending
// with '-', at most 253 characters in all.
std::optional<std::string> normalizeDnsName(std::string_view text, std::string* error);
// <label>.privatelink.<blob|dfs|file|queue|table|web>.core.windows.net, already normalized.
bool isPrivateEndpointName(std::string_view name, std::string* error);

// Linux interface names: 1..15 characters, no '/', ':' or whitespace, not "." or "..".
bool isValidInterfaceName(std::string_view name, std::string* error);
// [a-z0-9-]{1,max_len}, not starting or ending with '-'.
bool isValidName(std::string_view name, size_t max_len, std::string* error);
// strongSwan proposal syntax, checked loosely: algorithm tokens of [a-z0-9] joined by '-'.
bool isValidProposal(std::string_view proposal, std::string* error);
// A POSIX user name ([a-z_][a-z0-9_-]{0,31}).
bool isValidUserName(std::string_view name, std::string* error);
// An absolute path; unix sockets additionally fit in sun_path (at most 107 bytes).
bool isValidAbsolutePath(std::string_view path, bool is_socket, std::string* error);
// The interface name crossgate uses for a tunnel by default: "cgt<if_id>".
std::string defaultInterfaceName(uint32_t if_id);

// Levenshtein distance, for "did you mean" suggestions.
size_t editDistance(std::string_view a, std::string_view b);
// True if the string holds a control character (NUL included).
bool hasControlCharacter(std::string_view text);

}  // namespace crossgate::config::detail
