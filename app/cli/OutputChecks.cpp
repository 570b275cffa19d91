#include "app/cli/OutputChecks.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/io/NonFinite.h"

#include <iostream>

namespace prisma::cli {

void checkFiniteResults(const std::map<std::string, torch::Tensor>& tensors, const std::string& output,
                        bool allowNan) {
  const auto problem = io::describeNonFinite(tensors, "the results");
  if (!problem) return;
  if (allowNan) {
    std::cerr << "warning: " << output << ": " << *problem << " (written as asked by --" << kAllowNanFlag << ")\n";
    return;
  }
  throw Error(output, "", *problem + "; nothing written (the model's weights or the input may hold NaN or Inf: see "
                                     "`prisma info`; pass --" + kAllowNanFlag + " to write them anyway)");
}

void checkFiniteWeights(const io::LoadedModel& model, const std::string& output, bool allowNan, bool flagOffered) {
  std::map<std::string, torch::Tensor> weights;
  for (const auto& item : model.model->named_parameters()) weights[item.key()] = item.value();
  if (model.pooler) {
    weights["pooler.weight"] = model.pooler->weight;
    weights["pooler.bias"] = model.pooler->bias;
  }
  const auto problem = io::describeNonFinite(weights, "the model's weights");
  if (!problem) return;
  if (allowNan) {
    std::cerr << "warning: " << output << ": " << *problem << " (written as asked by --" << kAllowNanFlag << ")\n";
    return;
  }
  throw Error(output, "", *problem + "; nothing written" +
                              (flagOffered ? std::string("; pass --") + kAllowNanFlag + " to write the model anyway"
                                           : std::string()));
}

void writeCsvText(const std::string& path, const std::string& text) { io::writeTextAtomically(path, text); }

}  // namespace prisma::cli
