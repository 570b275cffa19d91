#pragma once
// How much memory one load may allocate for what a file declares (the storages of a
// pickle, the parameters a config implies, a record the zip says it inflates to). A
// hostile or broken file can declare terabytes in a few bytes; every such declaration is
// compared with this budget before anything is allocated, so the answer is an error
// naming the file and the field instead of the kernel's OOM killer.
//
// The budget is half of physical memory unless PRISMA_MAX_MEMORY says otherwise
// (`prisma --max-memory SIZE` sets it for the command and every process it starts; the
// explorer reads the same variable).

#include <cstdint>
#include <string>

namespace prisma {

inline constexpr const char* kMaxMemoryEnv = "PRISMA_MAX_MEMORY";
// Of physical memory, when PRISMA_MAX_MEMORY is unset: room for the declared data plus
// the working copies a load makes, on the same machine as everything else.
inline constexpr double kDefaultMemoryFraction = 0.5;

uint64_t physicalMemoryBytes();

// PRISMA_MAX_MEMORY (bytes, or with a K/M/G/T suffix) or the default fraction of physical
// memory. Throws prisma::Error naming the variable when its value is not a size.
uint64_t memoryBudget();

// "1.5 GiB": bytes for messages.
std::string formatBytes(uint64_t bytes);

// Throws prisma::Error(source, field, ...) when `bytes` (what `what` needs) exceeds the
// budget, saying how to raise it.
void checkMemoryBudget(uint64_t bytes, const std::string& source, const std::string& field, const std::string& what);

}  // namespace prisma
