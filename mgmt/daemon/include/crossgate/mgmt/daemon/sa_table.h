// SaTable: the IKE_SAs crossgated knows charon to have, merged from events and listings.
//
// Existence comes from charon's events: ike-updown (up adds, down removes), ike-rekey (the old
// IKE_SA is replaced by the new one), child-updown and child-rekey (the CHILD_SAs of an IKE_SA).
// A `list-sas noblock=yes` listing only refreshes the SAs it returns: charon leaves out IKE_SAs
// that are checked out at that moment (busy with DPD, a rekey, any exchange), so an SA missing
// from such a listing keeps its last known state. Only a complete (blocking) listing may remove
// SAs, and only those known before it was started: an event that arrives while the listing is
// in flight is newer than the listing.
//
// The table is `synced` when it reflects charon: after a complete listing taken while the event
// stream was connected. Whenever events may have been missed (the event stream (re)connected),
// it is not, and crossgated must not conclude from it that a tunnel has no IKE_SA.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crossgate/ikev2/vici_message.h"
#include "crossgate/mgmt/daemon/sa_state.h"

namespace crossgate::mgmtd {

class SaTable {
 public:
  // After this many consecutive noblock listings without an SA, a complete listing is due to
  // confirm it still exists (it normally disappears through an event long before).
  static constexpr int kMissesBeforeConfirm = 15;
  // The same for an IKE_SA never seen established (CREATED, CONNECTING): charon reports no
  // ike-updown when such an SA fails, so its absence is confirmed at once.
  static constexpr int kMissesBeforeConfirmConnecting = 1;

  // An ike-updown / child-updown / ike-rekey / child-rekey event (others are ignored).
  void applyEvent(const std::string& name, const vici::Message& message);

  // Every listing: beginListing() before sending the request, then the merge with its token,
  // so that an event that arrived meanwhile is not overwritten by the older listing.
  struct ListingToken {
    uint64_t sequence = 0;
    uint64_t epoch = 0;
  };
  ListingToken beginListing() const { return {sequence_, epoch_}; }

  // The SAs of a `list-sas noblock=yes`: updates those returned, keeps the others.
  void mergeNoblockListing(ListingToken token, std::vector<IkeSaInfo> listing);

  // A complete (blocking) listing: also removes the SAs it lacks, and makes the table synced.
  // If the table was marked unsynced or cleared in between, the listing only refreshes (it
  // may predate events that were missed) and the table stays unsynced.
  void applyCompleteListing(ListingToken token, std::vector<IkeSaInfo> listing);

  // Events may have been missed: the table stays as it is but is no longer authoritative.
  void markUnsynced() {
    synced_ = false;
    ++epoch_;
  }
  // charon's state is gone (e.g. charon restarted): forget everything.
  void clear();

  bool synced() const { return synced_; }
  // True only when the table is synced and has no IKE_SA of connection `conn`: the one case in
  // which the tunnel may be initiated.
  bool knownWithoutIkeSa(const std::string& conn) const;
  // A complete listing is due: the table is not synced, or an SA has been missing from
  // kMissesBeforeConfirm (kMissesBeforeConfirmConnecting) noblock listings in a row.
  bool needsCompleteListing() const;
  std::vector<IkeSaInfo> sas() const;

 private:
  struct Entry {
    IkeSaInfo sa;
    uint64_t learned = 0;  // sequence_ when an event or listing last proved it exists
    int misses = 0;        // consecutive noblock listings without it
  };

  void upsert(IkeSaInfo sa, bool keep_children);
  // Updates from a listing started at `token`, unless an event told of the SA since.
  void refresh(ListingToken token, IkeSaInfo sa, std::set<uint64_t>* seen);
  void remove(uint64_t uniqueid);
  void applyChildEvent(const vici::Message& message, bool up);
  void applyChildRekey(const vici::Message& message);
  void applyIkeRekey(const vici::Message& message);
  bool removed(uint64_t uniqueid) const { return removed_.count(uniqueid) != 0; }

  std::map<uint64_t, Entry> sas_;  // by IKE_SA unique id
  // Unique ids removed by events (charon never reuses them): a listing taken before the
  // removal must not bring them back. Bounded; the oldest are forgotten first.
  std::set<uint64_t> removed_;
  std::deque<uint64_t> removed_order_;
  uint64_t sequence_ = 1;
  uint64_t epoch_ = 1;
  bool synced_ = false;
};

}  // namespace crossgate::mgmtd
