#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <memory>
#include <utility>

namespace netcore::transports {

/// Two connected in-process byte_streams (bytes written to one are read from the other), each
/// direction buffered up to `capacity` bytes: a writer blocks while its direction is full. For
/// tests and in-process links. `read_limit` caps the bytes one read() returns, so tests can
/// exercise short reads.
std::pair<std::unique_ptr<byte_stream>, std::unique_ptr<byte_stream>>
make_memory_pair(std::size_t capacity = 4u << 20, std::size_t read_limit = SIZE_MAX);

}  // namespace netcore::transports
