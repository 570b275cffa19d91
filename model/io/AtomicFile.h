#pragma once
// Writing files so a crash never leaves a half-written file under the final name: the
// bytes go to a temporary file in the same folder, are flushed to disk, and the file is
// renamed into place (rename is atomic within one file system).

#include <functional>
#include <string>

namespace prisma::io {

// `write(append)` is called once; `append(data, size)` adds bytes. Throws prisma::Error
// naming `path` on any failure, leaving the previous file (if any) untouched.
void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::function<void(const void*, size_t)>&)>& write);

void writeTextAtomically(const std::string& path, const std::string& text);

}  // namespace prisma::io
