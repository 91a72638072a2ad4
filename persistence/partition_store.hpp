#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct MDB_env;
struct MDB_txn;

namespace partita {

/// An LMDB failure that a caller cannot absorb (disk full, permissions, a corrupt file).
class store_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The engine's tables beside the group table, each an LMDB database of its own in key order:
/// the timers (graph.on_timer) and the windows (graph.windowed). Their changelogs are read in
/// this order (docs/time.md).
enum class side : unsigned { timers = 0, windows = 1 };
inline constexpr std::size_t side_count = 2;

/// Settings of one partition store.
struct store_config {
  /// Directory of the LMDB environment; created if missing.
  std::filesystem::path dir;
  /// First size of the memory map; the store doubles it whenever a write finds it full.
  std::size_t initial_map_size = std::size_t{64} << 20;
  /// fsync every commit (survives power loss). Off: a commit survives a crash of the process,
  /// and the changelog topic rebuilds whatever a machine crash takes.
  bool fsync = false;
};

/// The state of one Kafka partition of a group: its table (key -> value), its side tables
/// (the engine's timers and windows, key -> value, in key order), metadata (offsets) and pending effects (what
/// committed batches produced, until Kafka acknowledges it), in one
/// LMDB environment at `<state-dir>/<group>/<topic>.<partition>`.
/// Move-only; closes the environment in its destructor. Not found is an empty optional;
/// only real failures throw store_error. Reads are safe from any thread while one thread
/// writes (a table followed by one thread and read by others).
class partition_store {
public:
  /// The longest key LMDB keeps (its default build): longer keys fail the write.
  static constexpr std::size_t max_key_size = 511;

  explicit partition_store(store_config cfg);
  partition_store(partition_store&&) noexcept;
  partition_store& operator=(partition_store&&) noexcept;
  partition_store(const partition_store&) = delete;
  partition_store& operator=(const partition_store&) = delete;
  ~partition_store();

  /// The directory of a partition's store, with the topic name made safe for a file name.
  static std::filesystem::path path_for(const std::filesystem::path& state_dir,
                                        std::string_view group, std::string_view topic,
                                        int32_t partition);

  /// The committed value of `key`, if any.
  std::optional<std::string> get(std::string_view key) const;

  /// A committed metadata value (offsets), if any.
  std::optional<int64_t> meta(std::string_view name) const;

  /// Number of keys in the table.
  std::size_t size() const;

  /// Bytes of the environment's data file in use (pages in use times page size).
  std::size_t bytes_used() const;

  /// Current size of the memory map.
  std::size_t map_size() const;

  /// Visits every committed key and value in key order (as scan()).
  void for_each(const std::function<void(std::string_view, std::string_view)>& fn) const;

  /// Visits the committed keys in [from, to) in key order (an empty `to`: to the end) until
  /// `fn` returns false. `fn` runs outside any transaction (on chunks of 1,024 keys read at
  /// once), so it may read the store; a chunk is as of its read.
  void scan(std::string_view from, std::string_view to,
            const std::function<bool(std::string_view, std::string_view)>& fn) const;

  /// Visits the entries of side table `s` from `from` on, in key order, until `fn` returns
  /// false (in one read transaction: `fn` must not write this store).
  void scan_side(side s, std::string_view from,
                 const std::function<bool(std::string_view, std::string_view)>& fn) const;

  /// Number of entries of side table `s`.
  std::size_t side_size(side s) const;

  /// Visits the pending-effects records (sequence number, bytes) in sequence order: what
  /// batches committed here and not yet known to be acknowledged by Kafka produced.
  void for_each_pending(const std::function<void(uint64_t, std::string_view)>& fn) const;

  /// Changes collected in memory and applied in one LMDB write transaction by commit().
  /// Reads see the batch's own changes first. Nothing is written unless commit() is called.
  class write_batch {
  public:
    explicit write_batch(partition_store& store) : store_(&store) {}
    write_batch(const write_batch&) = delete;
    write_batch& operator=(const write_batch&) = delete;
    ~write_batch();

    void put(std::string_view key, std::string_view value);
    void erase(std::string_view key);
    /// put() for a value, erase() for nullopt.
    void set(std::string_view key, const std::optional<std::string>& value);
    void set(std::string&& key, std::optional<std::string>&& value);
    /// Room for `n` more table changes.
    void reserve(std::size_t n);
    void set_meta(std::string_view name, int64_t value);
    /// Keeps the effects of batch `seq` (the caller's encoding) with the state.
    void put_pending(uint64_t seq, std::string bytes);
    /// Forgets the effects of batch `seq` (acknowledged, or rolled back).
    void erase_pending(uint64_t seq);
    /// The value of `key` as this batch sees it.
    std::optional<std::string> get(std::string_view key);
    /// Sets (a value) or erases (nullopt) `key` of side table `s`.
    void set_side(side s, std::string_view key, std::optional<std::string> value);
    /// `key` of side table `s` as this batch sees it.
    std::optional<std::string> get_side(side s, std::string_view key);
    /// The batch's changes of side table `s`, in key order.
    const std::map<std::string, std::optional<std::string>>& side_changes(side s) const {
      return side_changes_[static_cast<unsigned>(s)];
    }
    /// The committed value of `key` of side table `s` before this batch (as before()).
    std::optional<std::string> side_before(side s, const std::string& key);
    /// Visits side table `s` from `from` on, in key order, as this batch sees it (its own
    /// changes over the committed entries), until `fn` returns false. `fn` must not change
    /// side table `s` of this batch.
    void scan_side(side s, std::string_view from,
                   const std::function<bool(std::string_view, std::string_view)>& fn);
    /// Applies all changes in one transaction, growing the map when it is full. A batch is
    /// committed once; its changes stay readable through changes().
    void commit();
    bool empty() const {
      for (const auto& c : side_changes_)
        if (!c.empty())
          return false;
      return changes_.empty() && meta_.empty() && pending_.empty();
    }
    /// The batch's table changes: key -> new value, or nullopt for an erased key.
    const std::unordered_map<std::string, std::optional<std::string>>& changes() const {
      return changes_;
    }
    /// The committed value of `key` before this batch (nullopt: absent). Call it before
    /// commit(): the batch's pending-effects record keeps these, to roll the batch back.
    std::optional<std::string> before(const std::string& key);

  private:
    friend class partition_store;
    using change = std::pair<const std::string, std::optional<std::string>>;
    void close_reader();
    std::optional<std::string> read_committed(std::string_view key);
    MDB_txn* reader();

    partition_store* store_;
    MDB_txn* reader_ = nullptr;
    std::unordered_map<std::string, std::optional<std::string>> changes_;
    /// Committed values read by this batch, kept for before().
    std::unordered_map<std::string, std::optional<std::string>> read_;
    std::array<std::map<std::string, std::optional<std::string>>, side_count> side_changes_;
    std::array<std::unordered_map<std::string, std::optional<std::string>>, side_count>
      side_read_;
    std::unordered_map<std::string, int64_t> meta_;
    /// Pending-effects records to write (value) or erase (nullopt), by sequence number.
    std::unordered_map<uint64_t, std::optional<std::string>> pending_;
  };


  /// Removes every key of the table and of the side tables (metadata stays).
  void clear();

private:
  friend class write_batch;
  int try_apply(const write_batch& batch);
  void apply(const write_batch& batch);
  void grow();
  /// Visits every entry of a database in key order, in one read transaction.
  void visit(unsigned dbi, std::string_view from,
             const std::function<bool(std::string_view, std::string_view)>& fn) const;

  store_config cfg_;
  MDB_env* env_ = nullptr;
  unsigned table_dbi_ = 0;
  unsigned meta_dbi_ = 0;
  unsigned pending_dbi_ = 0;
  std::array<unsigned, side_count> side_dbi_{};
  /// Growing the map needs every transaction of the process closed: readers share this lock,
  /// grow() takes it alone.
  std::unique_ptr<std::shared_mutex> resizing_ = std::make_unique<std::shared_mutex>();
};

} // namespace partita
