// mmap(2)-backed read-only files and zero-copy tensors over them (see MappedFile.h).

#include "model/io/MappedFile.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace prisma::io {

MappedFile::MappedFile(const std::string& path) {
  // Non-blocking: opening a FIFO without a writer would otherwise wait forever before the
  // regular-file check below could refuse it (it changes nothing for regular files).
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw Error(path, "", std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(path, "", S_ISDIR(st.st_mode) ? "not a regular file (a directory)" : "not a regular file (a FIFO, device or socket)");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      ::close(fd_);
      throw Error(path, "", std::string("cannot map: ") + std::strerror(errno));
    }
    data_ = static_cast<const unsigned char*>(p);
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::release(size_t begin, size_t end) const {
  if (!data_ || end > size_ || begin >= end) return;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t first = (begin + page - 1) / page * page;  // whole pages only: neighbours keep theirs
  const size_t last = end / page * page;
  if (first >= last) return;
  // Advice only: a failure leaves the pages resident, which is harmless.
  ::madvise(const_cast<unsigned char*>(data_) + first, last - first, MADV_DONTNEED);
}

torch::Tensor mappedTensor(const std::shared_ptr<const MappedFile>& file, size_t offset,
                           const std::vector<int64_t>& shape, torch::ScalarType dtype) {
  auto options = torch::TensorOptions().dtype(dtype);
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  if (numel == 0) return torch::empty(shape, options);
  const size_t bytes = static_cast<size_t>(numel) * torch::elementSize(dtype);
  const unsigned char* ptr = file->data() + offset;
  if (reinterpret_cast<uintptr_t>(ptr) % torch::elementSize(dtype) != 0) {
    // Misaligned data: copy once into an aligned tensor.
    torch::Tensor out = torch::empty(shape, options);
    std::memcpy(out.data_ptr(), ptr, bytes);
    return out;
  }
  auto keep = file;
  return torch::from_blob(
      const_cast<unsigned char*>(ptr), shape,
      [keep, offset, bytes](void*) { keep->release(offset, offset + bytes); }, options);
}

}  // namespace prisma::io
