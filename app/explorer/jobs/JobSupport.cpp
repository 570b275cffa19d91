// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/JobSupport.h"

#include "datasets/ImageIO.h"
#include "model/io/InputSpec.h"

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <cstring>

namespace prisma::app::jobs {

torch::Tensor inputFor(const ImageRequest& request, const io::LoadedModel& m) {
  torch::Tensor input;
  if (!request.path.isEmpty()) {
    input = io::loadInput(request.path.toStdString(), m);
  } else {
    const QImage rgb = request.pixels.convertToFormat(QImage::Format_RGB888);
    std::vector<unsigned char> packed(static_cast<size_t>(rgb.width()) * rgb.height() * 3);
    for (int y = 0; y < rgb.height(); ++y)
      std::memcpy(packed.data() + static_cast<size_t>(y) * rgb.width() * 3, rgb.constScanLine(y), rgb.width() * 3);
    input = io::imageInput(datasets::fromPixels(packed.data(), rgb.height(), rgb.width(), 3), m.preprocess);
  }
  return input.slice(0, 0, 1);
}

QStringList classNamesOf(const ViTConfig& c) {
  QStringList names;
  for (int k = 0; k < c.n_classes; ++k)
    names << (k < static_cast<int>(c.class_names.size()) ? QString::fromStdString(c.class_names[k])
                                                         : QStringLiteral("class %1").arg(k));
  return names;
}

std::shared_ptr<const std::vector<float>> floats(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return std::make_shared<const std::vector<float>>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

QString describeError(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return QString::fromStdString(c->what_without_backtrace());
  return QString::fromUtf8(e.what());
}

}  // namespace prisma::app::jobs
