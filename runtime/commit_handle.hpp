#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace partita {

/// A deferred commit (ctx.defer_commit()): the record's batch — its table changes, emits and
/// offset — goes out only once every handle it opened is called. For a behavior that hands
/// work to another system and must not have its record committed before that work is done.
///
/// Copyable, and callable from any thread; the first call counts, later ones do nothing.
/// done(): the work is done. fail(reason): the work failed, and the partition's poison policy
/// applies to the record: its partition restarts and runs it again (with the records of every
/// batch from the first one held), sends it to the dead-letter topic after poison_retries, or
/// stops. A handle that is never called holds back its partition's commits (see
/// partita_deferred_records); a crash, a revocation or a drain past its drain_timeout before
/// the call undoes the batch, and the record is processed again (by its next owner).
class commit_handle {
public:
  /// What a call reaches: the partition that opened the handle.
  struct sink {
    virtual ~sink() = default;
    virtual void complete(std::optional<std::string> error) = 0;
  };

  commit_handle() = default;
  explicit commit_handle(std::shared_ptr<sink> s) : sink_(std::move(s)) {}

  void done() const {
    if (sink_)
      sink_->complete(std::nullopt);
  }
  void fail(std::string reason) const {
    if (sink_)
      sink_->complete(std::move(reason));
  }

private:
  std::shared_ptr<sink> sink_;
};

} // namespace partita
