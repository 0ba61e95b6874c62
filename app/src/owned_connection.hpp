#pragma once

// A connection handle owned by an app actor (a server's, a client's) and passed to it in
// messages. Not installed.

#include <netcore/actors/connection.hpp>

#include <caf/allowed_unsafe_message_type.hpp>

#include <memory>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<netcore::actors::connection>)
