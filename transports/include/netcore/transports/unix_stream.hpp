#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <memory>
#include <string>

namespace netcore::transports {

/// The tuning of unix-domain streams: like TCP on loopback.
stream_profile unix_profile() noexcept;

/// Connects to the unix-domain stream socket at `path`. Errors: transport_errc::invalid_address
/// (path too long), or the OS error (std::errc::no_such_file_or_directory,
/// std::errc::connection_refused, std::errc::permission_denied, ...).
result<std::unique_ptr<byte_stream>> unix_connect(const std::string& path);

}  // namespace netcore::transports
