#pragma once
// The explorer's command line: what to open, and the two non-interactive modes:
// screenshot mode (open, wait for the views, save the window, exit) and the hover benchmark.

#include <QPoint>
#include <QString>
#include <QStringList>

#include <optional>

namespace prisma::app {

struct LaunchOptions {
  QString model;
  QString randomModel;  // "vit-b16" or "mouse": a model built in memory
  QString image;        // an image file or FILE.safetensors:KEY[:INDEX]
  QString dataset;      // e.g. "induction/test/17"
  int layer = -1, head = -1;
  bool queryCls = true;
  std::optional<QPoint> query;  // (col, row)
  QString view = QStringLiteral("explorer");
  QString screenshot;
  bool benchHover = false;
  int hovers = 0;
};

// Parses `arguments` (argv as strings); on a usage error returns nullopt and sets `error`.
std::optional<LaunchOptions> parseLaunchOptions(const QStringList& arguments, QString& error);

}  // namespace prisma::app
