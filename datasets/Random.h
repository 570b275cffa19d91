#pragma once
// The one random source of the generated datasets. std::mt19937_64's output sequence is
// fixed by the C++ standard, but std::shuffle and the std distributions are not, so the
// uniform draw and the Fisher–Yates shuffle are written here: the same seed gives the
// same images and splits with every compiler and standard library.

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace prisma::datasets {

// Seed of the generated datasets when the caller names none.
inline constexpr std::uint64_t kDefaultSeed = 0;

class Rng {
public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // Uniform in [0, bound); bound must be > 0. Rejection sampling keeps it unbiased.
  std::uint64_t below(std::uint64_t bound);

  template <typename T>
  void shuffle(std::vector<T>& values) {
    for (std::size_t i = values.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(below(i));
      std::swap(values[i - 1], values[j]);
    }
  }

private:
  std::mt19937_64 engine_;
};

}  // namespace prisma::datasets
