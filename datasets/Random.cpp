// Portable uniform draws on top of the standard-defined mt19937_64 sequence.

#include "datasets/Random.h"

#include <limits>
#include <stdexcept>

namespace prisma::datasets {

std::uint64_t Rng::below(std::uint64_t bound) {
  if (bound == 0) throw std::invalid_argument("Rng::below: bound must be positive");
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  // Draws at or above the last whole multiple of `bound` would favour small results.
  const std::uint64_t limit = kMax - kMax % bound;
  std::uint64_t draw = engine_();
  while (draw >= limit) draw = engine_();
  return draw % bound;
}

}  // namespace prisma::datasets
