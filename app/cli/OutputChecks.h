#pragma once
// What every result-writing command checks before it writes: that the output does not
// overwrite one of its inputs (io/OutputPaths.h), and that the numbers are finite. A model
// with NaN weights, or a NaN input, gives NaN results that otherwise look like any other
// file and exit 0; they are refused (exit 1) unless the user passes --allow-nan, which
// writes them with a warning on stderr.

#include "model/io/ModelLoader.h"

#include <torch/types.h>

#include <map>
#include <string>

namespace prisma::cli {

constexpr const char* kAllowNanFlag = "allow-nan";

// Throws prisma::Error naming `output` and the non-finite tensors unless `allowNan`; with
// it, warns on stderr. `tensors` are the results about to be written to `output`.
void checkFiniteResults(const std::map<std::string, torch::Tensor>& tensors, const std::string& output,
                        bool allowNan);

// The same for a model about to be written to `output` (convert, export): its weights and
// the pooler's. `flagOffered`: whether the command takes --allow-nan (the message says so).
void checkFiniteWeights(const io::LoadedModel& model, const std::string& output, bool allowNan,
                        bool flagOffered = true);

// The CSV result files go through the atomic writer too: `text` lands under `path` whole
// or not at all (io/AtomicFile.h).
void writeCsvText(const std::string& path, const std::string& text);

}  // namespace prisma::cli
