#pragma once
// Numbers from text a user or a file gives (command-line options, the INDEX of an input
// spec, environment variables, byte sizes). The whole text must be the number and it must
// fit: no sign-less surprises, no locale, no leading whitespace, no exceptions -- so a
// value like 99999999999999999999 is reported as "does not fit", never as "stoll".
// One parser, so every caller reports a bad number the same way.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace prisma {

// A base-10 integer ('-' allowed, '+' not); std::nullopt when the text is anything else
// or does not fit int64.
std::optional<int64_t> parseInteger(std::string_view text);

// A finite decimal or scientific number ("0.5", "1e-3", "-2"); std::nullopt on anything
// else, including "inf", "nan" and values that overflow a double.
std::optional<double> parseReal(std::string_view text);

// Bytes as "1073741824", "512M", "4G", "1.5G" or "2T" (K/M/G/T: powers of 1024, an
// optional trailing "B" or "iB"); std::nullopt on anything else, zero or an overflow.
std::optional<uint64_t> parseByteSize(std::string_view text);

// `v` with exactly `digits` decimals ("%.*f"; no locale), as tables and cards print figures.
std::string formatFixed(double v, int digits);

// Why `text` is not an integer in [min, max] -- "is not an integer", "does not fit",
// "is outside [min, max]" -- or "" when it is one.
std::string integerProblem(std::string_view text, int64_t min, int64_t max);

}  // namespace prisma
