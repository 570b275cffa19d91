#pragma once
// The explorer's command line: what to open, and the two non-interactive modes:
// screenshot mode (open, wait for the views, save the window, exit) and the hover benchmark.

#include <QPoint>
#include <QSize>
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
  // --view patching: the board's sources (specs as --image, or NAME/SPLIT/INDEX) and component.
  QString clean, corrupt, component;
  // --view features: the SAE (default: the one bundled with the mouse) and the feature to show.
  QString sae;
  QString classes;       // a class file for a CLIP's zero-shot head (one name per line)
  QString classTemplate; // its prompt template; empty: the remembered one
  int feature = -1;
  QString screenshot;
  QSize size;  // --size WxH: the window's size (screenshots at a given size); invalid = remembered
  bool benchHover = false;
  int hovers = 0;
  // --view training and --bench-training: the run to start (the Training tab's preset),
  // its length and logging interval (0 = the preset's).
  QString trainPreset;
  QString trainSae;  // --train-sae HOOK: an SAE on that hook of --model instead of a preset
  qint64 trainSteps = 0;
  qint64 trainLogEvery = 0;
  bool benchTraining = false;
};

// Parses `arguments` (argv as strings); on a usage error returns nullopt and sets `error`.
std::optional<LaunchOptions> parseLaunchOptions(const QStringList& arguments, QString& error);

}  // namespace prisma::app
