#pragma once

#include <netcore/protocol/bytes.hpp>

#include <cstdint>

namespace netcore::protocol {

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`, continuing from a previous
/// result `crc` (0 to start). crc32c("123456789") == 0xE3069283. Uses SSE4.2 when the CPU has it
/// (detected once at run time), a table-driven implementation otherwise.
std::uint32_t crc32c(byte_view data, std::uint32_t crc = 0) noexcept;

/// The table-driven implementation, whatever the CPU (for tests and as the fallback).
std::uint32_t crc32c_portable(byte_view data, std::uint32_t crc = 0) noexcept;

/// True when crc32c() runs on the SSE4.2 crc32 instruction.
bool crc32c_uses_hardware() noexcept;

}  // namespace netcore::protocol
