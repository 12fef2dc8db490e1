// Internal: RAII owners for libnftnl objects.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include <memory>

namespace crossgate::routing {

struct NftTableDeleter {
  void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct NftChainDeleter {
  void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct NftRuleDeleter {
  void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
using NftTablePtr = std::unique_ptr<nftnl_table, NftTableDeleter>;
using NftChainPtr = std::unique_ptr<nftnl_chain, NftChainDeleter>;
using NftRulePtr = std::unique_ptr<nftnl_rule, NftRuleDeleter>;

}  // namespace crossgate::routing
