#pragma once
// CRC-32C (Castagnoli), and the "masked" form TFRecord files store so that a CRC of data
// that itself contains CRCs stays well distributed: ((crc >> 15) | (crc << 17)) + 0xa282ead8.

#include <cstddef>
#include <cstdint>

namespace prisma::train {

uint32_t crc32c(const void* data, size_t size);
uint32_t maskedCrc32c(const void* data, size_t size);

}  // namespace prisma::train
