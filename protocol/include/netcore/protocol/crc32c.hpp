#pragma once

#include <netcore/protocol/bytes.hpp>

#include <cstdint>

namespace netcore::protocol {

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`, continuing from a previous
/// result `crc` (0 to start). crc32c("123456789") == 0xE3069283. Inputs of 256 B and more go to
/// ISA-L when the build found it (its own run-time choice of code); the rest uses SSE4.2 when
/// the CPU has it (detected once at run time), a table-driven implementation otherwise. The
/// results are the same whichever runs.
std::uint32_t crc32c(byte_view data, std::uint32_t crc = 0) noexcept;

/// The table-driven implementation, whatever the CPU (for tests and as the fallback).
std::uint32_t crc32c_portable(byte_view data, std::uint32_t crc = 0) noexcept;

/// True when crc32c() runs on the SSE4.2 crc32 instruction (for inputs ISA-L does not take).
bool crc32c_uses_hardware() noexcept;

/// What crc32c() runs on, e.g. "isa-l (from 256 B), sse4.2" or "table" (for reports).
const char* crc32c_implementation() noexcept;

}  // namespace netcore::protocol
