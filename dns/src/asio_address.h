#pragma once
// IpAddress -> Asio address, shared by the listeners (worker.cc) and the forwarder.

#include <boost/asio/ip/address.hpp>
#include <cstring>

#include "crossgate/common/net.h"

namespace crossgate::dns {

inline boost::asio::ip::address toAsio(const IpAddress& ip) {
  if (ip.isV4()) {
    return boost::asio::ip::address_v4(ip.v4HostOrder());
  }
  boost::asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), ip.bytes().data(), 16);
  return boost::asio::ip::address_v6(b);
}

}  // namespace crossgate::dns
