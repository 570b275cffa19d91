#pragma once
// Writing files so a crash or a full disk never leaves a half-written file under the final
// name: the bytes go to a new temporary file in the same folder, every write and the final
// flush are checked, the file is fsync'ed, renamed into place (rename is atomic within one
// file system) and the folder is fsync'ed so the rename itself survives a power cut. On
// any failure the temporary file is removed and the previous file (if any) is untouched.
//
// Every file the project writes as an output goes through here (models, checkpoints,
// CSV and safetensors results, PNGs, cards). The only exceptions are the append-only run
// logs (metrics.csv, the TensorBoard event file), which live readers such as TensorBoard
// and `tail -f` follow by file handle; those use AppendFile below instead.

#include <cstdint>
#include <functional>
#include <string>

namespace prisma::io {

// `write(append)` is called once; `append(data, size)` adds bytes. Throws prisma::Error
// naming `path` on any failure, leaving the previous file (if any) untouched.
void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::function<void(const void*, size_t)>&)>& write);

void writeTextAtomically(const std::string& path, const std::string& text);

// An append-only log file. Each append() writes its bytes, flushes and fdatasyncs them;
// when any of that fails the file is cut back to its length before the append, so a
// reader never sees a torn record, and prisma::Error names the file.
class AppendFile {
public:
  // Opens `path` for appending, creating it when missing (truncating it with `truncate`).
  explicit AppendFile(std::string path, bool truncate = false);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append(const std::string& bytes);
  const std::string& path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
};

// Flushes a folder's entries (a rename or a new file in it) to disk; best effort.
void syncDirectory(const std::string& dir);

}  // namespace prisma::io
