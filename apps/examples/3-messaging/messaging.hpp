#pragma once

// Goka's 3-messaging, its processors: the graphs of the messaging service, shared by the
// program (main.cpp) and its tests (../4-tests). Topics and tables as Goka names them.
//
//   service --send--> message_sent --filter (joins blocker-table, looks up translator-table)-->
//   message_received --collector--> collector-table (each user's last 5 messages) --view--> feed
//   message_sent --detector (counts sent/received, loop)--> block_user --blocker--> blocker-table
//   translate-word --translator--> translator-table

#include "runtime/group_graph.hpp"

#include <sstream>
#include <string>
#include <vector>

namespace messaging {

inline const std::string sent_stream = "message_sent";         // key: the sender
inline const std::string received_stream = "message_received"; // key: the recipient
inline const std::string block_stream = "block_user";          // key: the user
inline const std::string translate_stream = "translate-word";  // key: the word
inline constexpr std::size_t max_messages = 5;                 // kept per user
inline constexpr int64_t min_messages = 200; // the detector judges a user after this many
inline constexpr double max_rate = 0.5;      // sent / (sent + received) of a spammer

struct message {
  std::string from;
  std::string to;
  std::string content;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(message, from, to, content)
using message_codec = partita::json_codec_of<message>;
using message_list_codec = partita::json_codec_of<std::vector<message>>;

struct block_event {
  bool unblock = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(block_event, unblock)
struct block_value {
  bool blocked = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(block_value, blocked)

struct counters {
  int64_t sent = 0;
  int64_t received = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(counters, sent, received)

/// collector: each user's last max_messages received messages.
inline partita::group_graph<message_list_codec> collector() {
  partita::group_graph<message_list_codec> g{"collector"};
  g.input(received_stream, message_codec{},
          [](partita::context<message_list_codec>& ctx, const message& m) {
            auto list = ctx.value().value_or(std::vector<message>{});
            list.push_back(m);
            if (list.size() > max_messages)
              list.erase(list.begin(), list.end() - max_messages);
            ctx.set_value(list);
          });
  return g;
}

/// blocker: who is blocked, from block events.
inline partita::group_graph<partita::json_codec_of<block_value>> blocker() {
  using codec = partita::json_codec_of<block_value>;
  partita::group_graph<codec> g{"blocker"};
  g.input(block_stream, partita::json_codec_of<block_event>{},
          [](partita::context<codec>& ctx, const block_event& e) {
            ctx.set_value(block_value{!e.unblock});
          });
  return g;
}

/// translator: a word's translation.
inline partita::group_graph<partita::string_codec> translator() {
  partita::group_graph<partita::string_codec> g{"translator"};
  g.input(translate_stream, partita::string_codec{},
          [](partita::context<partita::string_codec>& ctx, const std::string& with) {
            ctx.set_value(with);
          });
  return g;
}

/// filter: drops the messages of blocked senders (a join), translates the others word by word
/// (a lookup) and sends them on, keyed by the recipient. No table of its own.
inline partita::group_graph<> filter() {
  partita::group_graph<> g{"filter"};
  g.join("blocker-table", partita::json_codec_of<block_value>{})
    .lookup("translator-table", partita::string_codec{})
    .output(received_stream, message_codec{})
    .input(sent_stream, message_codec{}, [](partita::context<>& ctx, const message& m) {
      if (ctx.join<block_value>("blocker-table").value_or(block_value{}).blocked)
        return;
      std::istringstream words{m.content};
      std::string word;
      std::string content;
      while (words >> word) {
        auto translated = ctx.lookup<std::string>("translator-table", word);
        content += (content.empty() ? "" : " ") + translated.value_or(word);
      }
      ctx.emit(received_stream, m.to, message{m.from, m.to, content});
    });
  return g;
}

/// detector: counts what each user sends and receives (the loop brings a message to its
/// recipient's key) and blocks a user whose messages are mostly sent.
inline partita::group_graph<partita::json_codec_of<counters>> detector() {
  using codec = partita::json_codec_of<counters>;
  auto judge = [](partita::context<codec>& ctx, const counters& c) {
    auto total = static_cast<double>(c.sent + c.received);
    if (total >= static_cast<double>(min_messages) &&
        static_cast<double>(c.sent) / total >= max_rate)
      ctx.emit(block_stream, ctx.key(), block_event{});
  };
  partita::group_graph<codec> g{"detector"};
  g.output(block_stream, partita::json_codec_of<block_event>{})
    .input(sent_stream, message_codec{},
           [judge](partita::context<codec>& ctx, const message& m) {
             auto c = ctx.value().value_or(counters{});
             ++c.sent;
             ctx.set_value(c);
             judge(ctx, c);
             ctx.loopback(m.to, m);
           })
    .loop(message_codec{}, [judge](partita::context<codec>& ctx, const message&) {
      auto c = ctx.value().value_or(counters{});
      ++c.received;
      ctx.set_value(c);
      judge(ctx, c);
    });
  return g;
}

} // namespace messaging
