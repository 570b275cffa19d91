#pragma once
// Read-only memory mappings of weight files, and tensors that view them without a copy.
// A mapped page counts in the process's resident set once touched, so a loader that
// copies every weight into its parameters would briefly hold the file twice (mapping +
// parameters). A mapped tensor therefore hands its pages back to the kernel
// (madvise(MADV_DONTNEED)) when its storage dies: loading streams through the file and
// the peak stays near one copy of the weights. The mapping is private and never written,
// so dropped pages simply read back from the file if anything touches them again.

#include <torch/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace prisma::io {

class MappedFile {
public:
  // Throws prisma::Error naming `path` when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

  // Drops the whole pages inside [begin, end) from the resident set.
  void release(size_t begin, size_t end) const;

private:
  int fd_ = -1;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

// A tensor viewing bytes [offset, offset + bytes of `shape`) of `file` (the caller has
// checked the range). Shares the mapping when the address suits the dtype's alignment,
// else copies once. The mapping lives while the tensor does; its pages are released when
// the tensor's storage dies.
torch::Tensor mappedTensor(const std::shared_ptr<const MappedFile>& file, size_t offset,
                           const std::vector<int64_t>& shape, torch::ScalarType dtype);

}  // namespace prisma::io
