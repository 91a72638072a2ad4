#include "benchmarks/baseline.hpp"

#include "actors/consumer_pump.hpp"
#include "actors/windows.hpp"
#include "runtime/kafka_producer.hpp"

#include <charconv>
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <lmdb.h>

namespace partita::bench {

namespace {

void check_mdb(int rc, const char* what) {
  if (rc != MDB_SUCCESS)
    throw std::runtime_error(std::string{what} + ": " + mdb_strerror(rc));
}

/// One partition's LMDB environment.
struct partition_db {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;

  explicit partition_db(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    check_mdb(mdb_env_create(&env), "mdb_env_create");
    check_mdb(mdb_env_set_mapsize(env, size_t{1} << 30), "mdb_env_set_mapsize");
    check_mdb(mdb_env_open(env, dir.c_str(), MDB_NOSYNC | MDB_NOTLS, 0644), "mdb_env_open");
    MDB_txn* txn = nullptr;
    check_mdb(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    check_mdb(mdb_dbi_open(txn, nullptr, 0, &dbi), "mdb_dbi_open");
    check_mdb(mdb_txn_commit(txn), "mdb_txn_commit");
  }
  ~partition_db() { mdb_env_close(env); }
};

/// The changelog records of one applied batch; its offset may be committed once all are
/// acknowledged.
struct pending_batch {
  int64_t next_offset = 0;
  int outstanding = 0;
};

/// The first failed delivery; checked after each poll (no exception crosses librdkafka).
std::string delivery_error;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err && delivery_error.empty())
    delivery_error = rd_kafka_err2str(m->err);
  --static_cast<pending_batch*>(m->_private)->outstanding;
}

} // namespace

table_loader::table_loader(const kafka_properties& kafka) {
  char err[512];
  auto* conf = make_kafka_conf({{"group.id", "bench-join-loader"},
                                {"enable.auto.commit", "false"},
                                {"enable.partition.eof", "true"},
                                {"fetch.wait.max.ms", "10"},
                                {"queued.min.messages", "200000"}},
                               kafka);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk_ == nullptr)
    throw std::runtime_error(err);
  rd_kafka_poll_set_consumer(rk_);
  // Connected before it is needed, as Partita's followers are (they start with the processor).
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk_, 1, nullptr, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    rd_kafka_metadata_destroy(md);
}

table_loader::~table_loader() {
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void table_loader::load(const std::string& topic, int partitions,
                        const std::filesystem::path& dir) {
  // One consumer for every partition, from the start to each partition's end.
  std::map<int32_t, std::unique_ptr<partition_db>> dbs;
  auto* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = 0; // not BEGINNING: no offset lookup first
    dbs[p] = std::make_unique<partition_db>(dir / std::to_string(p));
  }
  rd_kafka_assign(rk_, parts);
  // Tuned as Partita's table follower is: wake the broker threads, which librdkafka 2.0 leaves
  // asleep up to a second after an assignment.
  for (int i = 0; i < parts->cnt; ++i)
    parts->elems[i].offset = RD_KAFKA_OFFSET_END;
  rd_kafka_offsets_for_times(rk_, parts, 1);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk_);
  std::vector<rd_kafka_message_t*> msgs(10000);
  std::set<int32_t> ended;
  while (static_cast<int>(ended.size()) < partitions) {
    // The call waits until the batch is full or the timeout passes: a short one.
    auto n = rd_kafka_consume_batch_queue(queue, 10, msgs.data(), msgs.size());
    std::map<int32_t, MDB_txn*> txns;
    for (ssize_t i = 0; i < n; ++i) {
      auto* m = msgs[i];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ended.insert(m->partition);
      } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto& txn = txns[m->partition];
        auto& db = *dbs.at(m->partition);
        if (txn == nullptr)
          check_mdb(mdb_txn_begin(db.env, nullptr, 0, &txn), "mdb_txn_begin");
        MDB_val key{m->key_len, m->key};
        MDB_val value{m->len, m->payload};
        check_mdb(mdb_put(txn, db.dbi, &key, &value, 0), "mdb_put");
      }
      rd_kafka_message_destroy(m);
    }
    for (auto& [p, txn] : txns)
      check_mdb(mdb_txn_commit(txn), "mdb_txn_commit");
  }
  rd_kafka_queue_destroy(queue);
}

void run_baseline(const baseline_config& cfg, std::atomic<uint64_t>& fetched,
                  std::atomic<uint64_t>& applied) {
  char err[512];
  // The producer: Partita's defaults (idempotent, Sarama's partitioner), served on this thread.
  rd_kafka_conf_t* pconf = make_kafka_conf(producer_defaults(), cfg.kafka);
  rd_kafka_conf_set_dr_msg_cb(pconf, &on_delivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
  if (producer == nullptr)
    throw std::runtime_error(err);
  // The consumer: the settings Partita's consumer pump uses.
  auto consumer_conf =
    make_kafka_conf(consumer_defaults(cfg.group, start_from::earliest, /*co_partitioned=*/false),
                    overridden(cfg.kafka, cfg.consumer));
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf, err, sizeof err);
  if (consumer == nullptr)
    throw std::runtime_error(err);
  rd_kafka_poll_set_consumer(consumer);
  auto* subscription = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subscription, cfg.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, subscription);
  rd_kafka_topic_partition_list_destroy(subscription);

  std::unique_ptr<table_loader> loader;
  if (!cfg.join_topic.empty())
    loader = std::make_unique<table_loader>(cfg.kafka);
  bool windowed = cfg.window_ms > 0;
  auto table = cfg.group + (windowed ? "-windows" : "-table");
  auto results = cfg.group + "-results";
  std::map<int32_t, int64_t> stream_time;
  std::map<int32_t, std::unique_ptr<partition_db>> dbs;
  std::map<int32_t, std::unique_ptr<partition_db>> joined;
  std::map<int32_t, std::deque<std::unique_ptr<pending_batch>>> pending;
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer);
  std::vector<rd_kafka_message_t*> msgs(10000);
  std::map<int32_t, std::vector<rd_kafka_message_t*>> by_partition;
  std::unordered_map<std::string, int64_t> last_value;
  uint64_t acked_batches_left = 0;

  auto store_acknowledged = [&] {
    for (auto& [p, q] : pending) {
      int64_t next = -1;
      while (!q.empty() && q.front()->outstanding == 0) {
        next = q.front()->next_offset;
        q.pop_front();
        --acked_batches_left;
      }
      if (next >= 0) {
        auto* list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, cfg.topic.c_str(), p)->offset = next;
        rd_kafka_offsets_store(consumer, list);
        rd_kafka_topic_partition_list_destroy(list);
      }
    }
  };

  while (applied < cfg.records || acked_batches_left > 0) {
    auto n = rd_kafka_consume_batch_queue(queue, 10, msgs.data(), msgs.size());
    if (cfg.assigned != nullptr && !*cfg.assigned) {
      rd_kafka_topic_partition_list_t* assignment = nullptr;
      if (rd_kafka_assignment(consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        *cfg.assigned = assignment->cnt > 0;
        rd_kafka_topic_partition_list_destroy(assignment);
      }
      if (*cfg.assigned && loader)
        loader->load(cfg.join_topic, cfg.join_partitions, cfg.join_dir);
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (msgs[i]->err) {
        rd_kafka_message_destroy(msgs[i]);
        continue;
      }
      by_partition[msgs[i]->partition].push_back(msgs[i]);
      ++fetched;
    }
    for (auto& [p, records] : by_partition) {
      if (records.empty())
        continue;
      auto& db = dbs[p];
      if (!db)
        db = std::make_unique<partition_db>(cfg.state_dir / std::to_string(p));
      MDB_txn* txn = nullptr;
      check_mdb(mdb_txn_begin(db->env, nullptr, 0, &txn), "mdb_txn_begin");
      MDB_txn* join_txn = nullptr;
      MDB_dbi join_dbi = 0;
      if (!cfg.join_dir.empty()) {
        auto& j = joined[p];
        if (!j)
          j = std::make_unique<partition_db>(cfg.join_dir / std::to_string(p));
        check_mdb(mdb_txn_begin(j->env, nullptr, MDB_RDONLY, &join_txn), "mdb_txn_begin");
        join_dbi = j->dbi;
      }
      last_value.clear();
      auto& st = stream_time.try_emplace(p, -1).first->second;
      auto began = st;
      std::string wkey;
      for (auto* m : records) {
        MDB_val key{m->key_len, m->key};
        if (windowed) {
          auto ts = rd_kafka_message_timestamp(m, nullptr);
          st = std::max(st, ts);
          auto start = ts - ts % cfg.window_ms;
          if (start + cfg.window_ms <= st)
            continue; // late
          wkey = encode_window_key(start, {static_cast<const char*>(m->key), m->key_len});
          key = MDB_val{wkey.size(), wkey.data()};
        }
        MDB_val value;
        int64_t count = 0;
        if (mdb_get(txn, db->dbi, &key, &value) == MDB_SUCCESS) {
          auto* text = static_cast<const char*>(value.mv_data);
          std::from_chars(text, text + value.mv_size, count);
        }
        MDB_val match;
        if (join_txn == nullptr || mdb_get(join_txn, join_dbi, &key, &match) == MDB_SUCCESS)
          ++count;
        char buf[24];
        auto end = std::to_chars(buf, buf + sizeof buf, count).ptr;
        MDB_val out{static_cast<size_t>(end - buf), buf};
        check_mdb(mdb_put(txn, db->dbi, &key, &out, 0), "mdb_put");
        last_value[std::string{static_cast<const char*>(key.mv_data), key.mv_size}] = count;
      }
      // The windows the stream time passed: [began - size + 1, st - size] by their starts.
      std::vector<std::pair<std::string, std::string>> closed;
      if (windowed && st > began) {
        auto marker = std::to_string(st);
        MDB_val mk{stream_time_key().size(), const_cast<char*>(stream_time_key().data())};
        MDB_val mv{marker.size(), marker.data()};
        check_mdb(mdb_put(txn, db->dbi, &mk, &mv, 0), "mdb_put");
        last_value[std::string{stream_time_key()}] = st;
        MDB_cursor* cursor = nullptr;
        check_mdb(mdb_cursor_open(txn, db->dbi, &cursor), "mdb_cursor_open");
        auto from = encode_window_key(std::max<int64_t>(0, began - cfg.window_ms + 1), {});
        MDB_val k{from.size(), from.data()};
        MDB_val v;
        for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
          auto w = decode_window_key({static_cast<const char*>(k.mv_data), k.mv_size});
          if (!w || w->first > st - cfg.window_ms)
            break;
          closed.emplace_back(std::string{w->second},
                              std::string{static_cast<const char*>(v.mv_data), v.mv_size});
        }
        mdb_cursor_close(cursor);
      }
      check_mdb(mdb_txn_commit(txn), "mdb_txn_commit");
      if (join_txn != nullptr)
        mdb_txn_abort(join_txn);
      auto batch = std::make_unique<pending_batch>();
      batch->next_offset = records.back()->offset + 1;
      batch->outstanding = static_cast<int>(last_value.size() + closed.size());
      for (const auto& [k, v] : closed)
        while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(results.c_str()),
                                 RD_KAFKA_V_KEY(k.data(), k.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_OPAQUE(batch.get()), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
          rd_kafka_poll(producer, 10);
      for (const auto& [k, v] : last_value) {
        auto text = std::to_string(v);
        while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(table.c_str()),
                                 RD_KAFKA_V_PARTITION(p),
                                 RD_KAFKA_V_KEY(k.data(), k.size()),
                                 RD_KAFKA_V_VALUE(text.data(), text.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_OPAQUE(batch.get()), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
          rd_kafka_poll(producer, 10);
      }
      applied += records.size();
      ++acked_batches_left;
      pending[p].push_back(std::move(batch));
      for (auto* m : records)
        rd_kafka_message_destroy(m);
      records.clear();
    }
    rd_kafka_poll(producer, 0);
    if (!delivery_error.empty())
      throw std::runtime_error("baseline produce failed: " + delivery_error);
    store_acknowledged();
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_flush(producer, 10000);
  rd_kafka_destroy(producer);
}

} // namespace partita::bench
