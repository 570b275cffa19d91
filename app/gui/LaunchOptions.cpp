#include "app/gui/LaunchOptions.h"

#include <QCommandLineParser>

namespace prisma::app {

namespace {
constexpr int kDefaultHovers = 300;
}

std::optional<LaunchOptions> parseLaunchOptions(const QStringList& arguments, QString& error) {
  QCommandLineParser p;
  p.setApplicationDescription(QStringLiteral("Prisma Explorer: mechanistic interpretability for Vision Transformers"));
  p.addHelpOption();
  p.addVersionOption();
  const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Model folder or file to open."), QStringLiteral("MODEL"));
  const QCommandLineOption random(QStringLiteral("random-model"), QStringLiteral("Open a randomly initialised model: vit-b16 or mouse."),
                                  QStringLiteral("PRESET"));
  const QCommandLineOption image(QStringLiteral("image"), QStringLiteral("Image file or FILE.safetensors:KEY[:INDEX]."), QStringLiteral("SPEC"));
  const QCommandLineOption dataset(QStringLiteral("dataset"), QStringLiteral("A dataset image: NAME/SPLIT/INDEX, e.g. induction/test/17."),
                                   QStringLiteral("ITEM"));
  const QCommandLineOption layer(QStringLiteral("layer"), QStringLiteral("Layer to select."), QStringLiteral("L"));
  const QCommandLineOption head(QStringLiteral("head"), QStringLiteral("Head to select."), QStringLiteral("H"));
  const QCommandLineOption query(QStringLiteral("query"), QStringLiteral("cls, or ROW,COL of a patch."), QStringLiteral("QUERY"));
  const QCommandLineOption view(QStringLiteral("view"), QStringLiteral("View to show: explorer, patching, training or features."), QStringLiteral("VIEW"),
                                QStringLiteral("explorer"));
  const QCommandLineOption clean(QStringLiteral("clean"),
                                 QStringLiteral("--view patching: the clean image (a SPEC or NAME/SPLIT/INDEX)."),
                                 QStringLiteral("SPEC"));
  const QCommandLineOption corrupt(QStringLiteral("corrupt"),
                                   QStringLiteral("--view patching: the corrupted image (a SPEC or NAME/SPLIT/INDEX)."),
                                   QStringLiteral("SPEC"));
  const QCommandLineOption component(QStringLiteral("component"),
                                     QStringLiteral("--view patching: the component to sweep, e.g. resid_pre or head_z."),
                                     QStringLiteral("NAME"), QStringLiteral("resid_pre"));
  const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                      QStringLiteral("Save the window to OUT.png once the views are computed, then exit."),
                                      QStringLiteral("OUT"));
  const QCommandLineOption bench(QStringLiteral("bench-hover"),
                                 QStringLiteral("Time hover -> repaint on a ViT-B/16-sized model and print p50/p99."));
  const QCommandLineOption hovers(QStringLiteral("hovers"), QStringLiteral("Simulated hovers for --bench-hover."),
                                  QStringLiteral("N"), QString::number(kDefaultHovers));
  p.addOptions({model, random, image, dataset, layer, head, query, view, screenshot, bench, hovers});
  p.addOptions({clean, corrupt, component});
  const QCommandLineOption sae(QStringLiteral("sae"), QStringLiteral("--view features: the SAE folder or file (default: the mouse's bundled one)."),
                               QStringLiteral("PATH"));
  const QCommandLineOption feature(QStringLiteral("feature"), QStringLiteral("--view features: the feature to select."), QStringLiteral("N"));
  p.addOptions({sae, feature});
  const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size, e.g. 1024x700 (for screenshots)."),
                                QStringLiteral("WxH"));
  p.addOption(size);
  const QCommandLineOption classes(QStringLiteral("classes"),
                                   QStringLiteral("A CLIP's zero-shot classes: a file with one class name per line."),
                                   QStringLiteral("FILE"));
  const QCommandLineOption classTemplate(QStringLiteral("template"),
                                         QStringLiteral("--classes: the prompt template, e.g. \"a photo of a {}.\"."),
                                         QStringLiteral("T"));
  p.addOptions({classes, classTemplate});
  const QCommandLineOption trainPreset(QStringLiteral("train-preset"),
                                       QStringLiteral("--view training / --bench-training: the preset to train."), QStringLiteral("NAME"));
  const QCommandLineOption trainSteps(QStringLiteral("train-steps"), QStringLiteral("Updates to train (optimization.max_steps)."),
                                      QStringLiteral("N"));
  const QCommandLineOption trainLogEvery(QStringLiteral("train-log-every"),
                                         QStringLiteral("Evaluate every N updates (logging.log_every)."), QStringLiteral("N"));
  const QCommandLineOption benchTraining(QStringLiteral("bench-training"),
                                         QStringLiteral("Train --train-preset and print the GUI thread's event-loop stalls."));
  const QCommandLineOption trainSae(QStringLiteral("train-sae"),
                                    QStringLiteral("--view training: train a sparse autoencoder on this hook of --model "
                                                   "(default mouse:induction-2L) instead of a preset."),
                                    QStringLiteral("HOOK"));
  p.addOptions({trainPreset, trainSteps, trainLogEvery, benchTraining, trainSae});
  if (!p.parse(arguments)) {
    error = p.errorText();
    return std::nullopt;
  }
  if (p.isSet(QStringLiteral("help"))) p.showHelp(0);
  if (p.isSet(QStringLiteral("version"))) p.showVersion();

  LaunchOptions o;
  o.model = p.value(model);
  o.randomModel = p.value(random);
  o.image = p.value(image);
  o.dataset = p.value(dataset);
  bool ok = true;
  auto toInt = [&](const QCommandLineOption& opt, int fallback) {
    if (!p.isSet(opt)) return fallback;
    bool good = false;
    const int v = p.value(opt).toInt(&good);
    if (!good || v < 0) {
      error = QStringLiteral("--%1 needs a non-negative integer").arg(opt.names().first());
      ok = false;
    }
    return v;
  };
  o.layer = toInt(layer, -1);
  o.head = toInt(head, -1);
  o.hovers = toInt(hovers, kDefaultHovers);
  if (p.isSet(query)) {
    const QString q = p.value(query);
    if (q.compare(QLatin1String("cls"), Qt::CaseInsensitive) != 0) {
      const QStringList parts = q.split(',');
      bool r = false, c = false;
      if (parts.size() == 2) o.query = QPoint(parts[1].toInt(&c), parts[0].toInt(&r));
      if (!r || !c) {
        error = QStringLiteral("--query must be cls or ROW,COL");
        ok = false;
      }
      o.queryCls = false;
    }
  }
  o.view = p.value(view);
  o.clean = p.value(clean);
  o.corrupt = p.value(corrupt);
  o.component = p.value(component);
  if (o.view == QLatin1String("patching") && (o.clean.isEmpty() || o.corrupt.isEmpty())) {
    error = QStringLiteral("--view patching needs --clean SPEC and --corrupt SPEC");
    ok = false;
  } else if (o.view != QLatin1String("explorer") && o.view != QLatin1String("attention") && o.view != QLatin1String("lens") &&
             o.view != QLatin1String("patching") && o.view != QLatin1String("training") && o.view != QLatin1String("features")) {
    error = QStringLiteral("--view: unknown view '%1' (available: explorer or attention, lens, patching, training, features)").arg(o.view);
    ok = false;
  }
  o.sae = p.value(sae);
  o.classes = p.value(classes);
  o.classTemplate = p.value(classTemplate);
  if (!o.classTemplate.isEmpty() && o.classes.isEmpty()) {
    error = QStringLiteral("--template needs --classes FILE");
    ok = false;
  }
  o.feature = toInt(feature, -1);
  o.screenshot = p.value(screenshot);
  if (p.isSet(size)) {
    const QStringList wh = p.value(size).split('x');
    bool w = false, h = false;
    if (wh.size() == 2) o.size = QSize(wh[0].toInt(&w), wh[1].toInt(&h));
    if (!w || !h || o.size.width() <= 0 || o.size.height() <= 0) {
      error = QStringLiteral("--size must be WIDTHxHEIGHT, e.g. 1024x700");
      ok = false;
    }
  }
  o.benchHover = p.isSet(bench);
  o.trainPreset = p.value(trainPreset);
  o.trainSteps = toInt(trainSteps, 0);
  o.trainLogEvery = toInt(trainLogEvery, 0);
  o.benchTraining = p.isSet(benchTraining);
  o.trainSae = p.value(trainSae);
  if (o.trainPreset.isEmpty() &&
      (o.benchTraining || (o.view == QLatin1String("training") && !o.screenshot.isEmpty() && o.trainSae.isEmpty()))) {
    error = QStringLiteral("--bench-training and --view training --screenshot need --train-preset NAME (or --train-sae HOOK)");
    ok = false;
  }
  if (!o.randomModel.isEmpty() && o.randomModel != QLatin1String("vit-b16") && o.randomModel != QLatin1String("mouse")) {
    error = QStringLiteral("--random-model must be vit-b16 or mouse");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return o;
}

}  // namespace prisma::app
