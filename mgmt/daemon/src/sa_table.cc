#include "crossgate/mgmt/daemon/sa_table.h"

#include <algorithm>

namespace crossgate::mgmtd {

namespace {

constexpr size_t kMaxRemembered = 4096;

// Top-level sections of an event: one per IKE_SA, named by its connection.
template <typename F>
void forEachIkeSection(const vici::Message& message, F&& f) {
  for (const vici::Entry& e : message.entries()) {
    if (e.kind == vici::Entry::Kind::kSection) {
      f(e.name, e.section);
    }
  }
}

void replaceChild(std::vector<ChildSaInfo>& children, ChildSaInfo child) {
  auto it = std::find_if(children.begin(), children.end(),
                         [&](const ChildSaInfo& c) { return c.uniqueid == child.uniqueid; });
  if (it != children.end()) {
    *it = std::move(child);
  } else {
    children.push_back(std::move(child));
  }
}

void eraseChild(std::vector<ChildSaInfo>& children, uint64_t uniqueid) {
  children.erase(std::remove_if(children.begin(), children.end(),
                                [&](const ChildSaInfo& c) { return c.uniqueid == uniqueid; }),
                 children.end());
}

}  // namespace

void SaTable::applyEvent(const std::string& name, const vici::Message& message) {
  ++sequence_;
  const bool up = message.value("up").has_value();
  if (name == "ike-updown") {
    for (IkeSaInfo& sa : parseIkeSas(message)) {
      if (up) {
        upsert(std::move(sa), true);
      } else {
        remove(sa.uniqueid);
      }
    }
  } else if (name == "child-updown") {
    applyChildEvent(message, up);
  } else if (name == "ike-rekey") {
    applyIkeRekey(message);
  } else if (name == "child-rekey") {
    applyChildRekey(message);
  }
}

void SaTable::upsert(IkeSaInfo sa, bool keep_children) {
  if (sa.uniqueid == 0 || removed(sa.uniqueid)) {
    return;
  }
  Entry& entry = sas_[sa.uniqueid];
  if (keep_children) {
    sa.children = std::move(entry.sa.children);
  }
  entry.sa = std::move(sa);
  entry.learned = sequence_;
  entry.misses = 0;
}

void SaTable::remove(uint64_t uniqueid) {
  sas_.erase(uniqueid);
  if (removed_.insert(uniqueid).second) {
    removed_order_.push_back(uniqueid);
    if (removed_order_.size() > kMaxRemembered) {
      removed_.erase(removed_order_.front());
      removed_order_.pop_front();
    }
  }
}

void SaTable::applyChildEvent(const vici::Message& message, bool up) {
  forEachIkeSection(message, [&](const std::string& conn, const vici::Section& section) {
    IkeSaInfo event_sa = parseIkeSa(conn, section);
    const uint64_t id = event_sa.uniqueid;
    std::vector<ChildSaInfo> children = std::move(event_sa.children);
    if (up) {
      upsert(std::move(event_sa), true);  // a CHILD_SA coming up proves its IKE_SA exists
    }
    auto it = sas_.find(id);
    if (it == sas_.end()) {
      return;
    }
    for (ChildSaInfo& child : children) {
      if (up) {
        replaceChild(it->second.sa.children, std::move(child));
      } else {
        eraseChild(it->second.sa.children, child.uniqueid);
      }
    }
  });
}

void SaTable::applyChildRekey(const vici::Message& message) {
  forEachIkeSection(message, [&](const std::string& conn, const vici::Section& section) {
    IkeSaInfo ike = parseIkeSa(conn, section);
    const uint64_t id = ike.uniqueid;
    upsert(std::move(ike), true);
    auto it = sas_.find(id);
    const vici::Section* children = section.section("child-sas");
    if (it == sas_.end() || children == nullptr) {
      return;
    }
    for (const vici::Entry& e : children->entries()) {
      if (e.kind != vici::Entry::Kind::kSection) {
        continue;
      }
      if (const vici::Section* old_child = e.section.section("old")) {
        eraseChild(it->second.sa.children, parseChildSa(*old_child).uniqueid);
      }
      if (const vici::Section* new_child = e.section.section("new")) {
        replaceChild(it->second.sa.children, parseChildSa(*new_child));
      }
    }
  });
}

void SaTable::applyIkeRekey(const vici::Message& message) {
  forEachIkeSection(message, [&](const std::string& conn, const vici::Section& section) {
    const vici::Section* old_section = section.section("old");
    const vici::Section* new_section = section.section("new");
    std::vector<ChildSaInfo> children;
    if (old_section != nullptr) {
      const uint64_t old_id = parseIkeSa(conn, *old_section).uniqueid;
      if (auto it = sas_.find(old_id); it != sas_.end()) {
        children = std::move(it->second.sa.children);  // charon moves them to the new IKE_SA
      }
      remove(old_id);
    }
    if (new_section != nullptr) {
      IkeSaInfo fresh = parseIkeSa(conn, *new_section);
      if (fresh.children.empty()) {
        fresh.children = std::move(children);
      }
      upsert(std::move(fresh), false);
    }
  });
}

void SaTable::refresh(ListingToken token, IkeSaInfo sa, std::set<uint64_t>* seen) {
  seen->insert(sa.uniqueid);
  auto it = sas_.find(sa.uniqueid);
  if (it != sas_.end() && it->second.learned > token.sequence) {
    it->second.misses = 0;  // an event newer than the listing has the better details
    return;
  }
  upsert(std::move(sa), false);
}

void SaTable::mergeNoblockListing(ListingToken token, std::vector<IkeSaInfo> listing) {
  std::set<uint64_t> seen;
  for (IkeSaInfo& sa : listing) {
    refresh(token, std::move(sa), &seen);
  }
  for (auto& [id, entry] : sas_) {
    if (seen.count(id) == 0 && entry.learned <= token.sequence) {
      ++entry.misses;  // busy (checked out) in charon, or gone with an event still to come
    }
  }
}

void SaTable::applyCompleteListing(ListingToken token, std::vector<IkeSaInfo> listing) {
  if (token.epoch != epoch_) {
    mergeNoblockListing(token, std::move(listing));
    return;
  }
  std::set<uint64_t> seen;
  for (IkeSaInfo& sa : listing) {
    refresh(token, std::move(sa), &seen);
  }
  for (auto it = sas_.begin(); it != sas_.end();) {
    // Only SAs known before the listing started: a newer event outranks the listing.
    if (seen.count(it->first) == 0 && it->second.learned <= token.sequence) {
      it = sas_.erase(it);
    } else {
      ++it;
    }
  }
  synced_ = true;
}

void SaTable::clear() {
  sas_.clear();
  removed_.clear();
  removed_order_.clear();
  ++sequence_;
  markUnsynced();
}

bool SaTable::needsCompleteListing() const {
  if (!synced_) {
    return true;
  }
  return std::any_of(sas_.begin(), sas_.end(), [](const auto& kv) {
    const std::string& state = kv.second.sa.state;
    const bool connecting = state == "CREATED" || state == "CONNECTING";
    return kv.second.misses >= (connecting ? kMissesBeforeConfirmConnecting : kMissesBeforeConfirm);
  });
}

bool SaTable::knownWithoutIkeSa(const std::string& conn) const {
  return synced_ && std::none_of(sas_.begin(), sas_.end(),
                                 [&](const auto& kv) { return kv.second.sa.name == conn; });
}

std::vector<IkeSaInfo> SaTable::sas() const {
  std::vector<IkeSaInfo> out;
  out.reserve(sas_.size());
  for (const auto& [id, entry] : sas_) {
    out.push_back(entry.sa);
  }
  return out;
}

}  // namespace crossgate::mgmtd
