#include "call_state.hpp"
#include "dispatcher.hpp"

#include <caf/send.hpp>

namespace netcore::app {

namespace {

std::string text_of(const protocol::message_body& body) {
  if (!body.is_file()) return std::string(body.bytes().begin(), body.bytes().end());
  auto all = body.read_all();
  if (!all) return {};
  return std::string(all->begin(), all->end());
}

const protocol::message_meta& no_meta() {
  static const protocol::message_meta empty;
  return empty;
}

}  // namespace

// -- request --------------------------------------------------------------------------------------

const std::string& request::route() const noexcept {
  return meta().route;
}

std::uint64_t request::id() const noexcept {
  return state_ ? state_->message.id : 0;
}

const protocol::message_meta& request::meta() const noexcept {
  return state_ ? state_->message.meta : no_meta();
}

const std::string* request::header(std::string_view name) const noexcept {
  return meta().header(name);
}

const protocol::message_body& request::body() const noexcept {
  static const protocol::message_body empty;
  return state_ ? state_->message.body : empty;
}

std::string request::text() const {
  return text_of(body());
}

std::optional<clock::time_point> request::deadline() const noexcept {
  return state_ ? state_->deadline : std::nullopt;
}

bool request::cancelled() const noexcept {
  return state_ && state_->cancelled.load();
}

const actors::connection_actor& request::connection() const noexcept {
  static const actors::connection_actor none;
  return state_ ? state_->connection : none;
}

const std::shared_ptr<std::any>& request::connection_state() const noexcept {
  static const std::shared_ptr<std::any> none;
  return state_ ? state_->connection_state : none;
}

// -- response -------------------------------------------------------------------------------------

response response::bytes(protocol::byte_buffer bytes) {
  response r;
  r.body = std::move(bytes);
  return r;
}

response response::text(std::string_view text) {
  response r;
  r.type = protocol::content_type::text;
  r.body.assign(text.begin(), text.end());
  return r;
}

response response::error(app::status code, std::string reason) {
  response r;
  r.code = code;
  r.reason = std::move(reason);
  return r;
}

// -- responder ------------------------------------------------------------------------------------

bool responder::reply(response r) const {
  return state_ && state_->send(std::move(r));
}

bool responder::replied() const noexcept {
  return state_ && state_->done.load();
}

bool responder::cancelled() const noexcept {
  return state_ && state_->call && state_->call->cancelled.load();
}

void responder::on_reply(std::function<void(response&)> fn) const {
  if (!state_ || !fn) return;
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->transforms.push_back(std::move(fn));
}

namespace detail {

bool responder_state::send(response r) {
  if (done.exchange(true)) return false;
  std::vector<std::function<void(response&)>> apply;
  {
    std::lock_guard<std::mutex> guard{mutex};
    apply.swap(transforms);
  }
  try {
    for (auto f = apply.rbegin(); f != apply.rend(); ++f) (*f)(r);
  } catch (const std::exception& e) {
    r = response::error(status::internal, e.what());
  } catch (...) {
    r = response::error(status::internal, "an after hook threw a non-standard exception");
  }
  // Straight to the connection (no hop through the dispatcher on the way back); the dispatcher
  // hears that the call is over.
  const auto code = static_cast<std::uint16_t>(r.code);
  auto reason = r.reason;
  if (call->wants_answer && !call->cancelled.load())
    caf::anon_send(call->connection, actors::send_atom::value, std::uint64_t{0},
                   answer_message(*call, std::move(r)));
  caf::anon_send(call->dispatcher, respond_atom::value, call, code, std::move(reason));
  return true;
}

actors::outgoing_message answer_message(const call_state& c, response r) {
  actors::outgoing_message out;
  out.meta.route = c.message.meta.route;
  out.meta.type = r.type;
  out.meta.headers = std::move(r.headers);
  protocol::call_info info;
  info.what = protocol::call_info::kind::response;
  info.request_id = c.message.id;
  info.status = static_cast<std::uint16_t>(r.code);
  info.message = std::move(r.reason);
  out.meta.call = std::move(info);
  out.bytes = std::make_shared<const protocol::byte_buffer>(std::move(r.body));
  return out;
}

responder_state::~responder_state() {
  if (!done.load() && call)
    send(response::error(status::internal, "the handler dropped its responder without answering"));
}

}  // namespace detail

// -- reply ----------------------------------------------------------------------------------------

std::string reply::text() const {
  return text_of(body);
}

reply reply::failed(app::status code, std::string reason) {
  reply r;
  r.code = code;
  r.reason = std::move(reason);
  return r;
}

}  // namespace netcore::app
