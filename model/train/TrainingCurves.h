#pragma once
// The loss / accuracy curves of a run as a PNG, drawn with OpenCV (the model card embeds
// it; model/ has no Qt, so no QCustomPlot here). Left panel: train and test loss (and the
// running training-batch loss); right panel: train and test accuracy and test top-5.

#include "model/train/RunLog.h"

#include <string>
#include <vector>

namespace prisma::train {

// PNG bytes of the plot; rows may be empty or hold NaN cells.
std::string renderTrainingCurvesPng(const std::vector<LogRow>& rows, const std::string& title);

// Writes it atomically.
void writeTrainingCurves(const std::string& path, const std::vector<LogRow>& rows, const std::string& title);

}  // namespace prisma::train
