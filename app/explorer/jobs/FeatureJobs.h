#pragma once
// The model-thread jobs behind the Features tab (sparse autoencoders, model/sae). An SAE
// splits one hook's activation into many sparse features; the tab shows, for the current
// image, which features fire at a patch, where one feature fires over the image, which
// dataset images fire it most (from a feature database), and what the model predicts when
// the feature is ablated or scaled with the SAE spliced in.
//
// The SAE and its database stay on the model thread (FeaturesSession in ModelState, so a
// new model drops them); what crosses to the GUI is plain Qt values: the image's feature
// activations [tokens, d_sae], one feature's details, two top-5 lists. No LibTorch here.

#include "app/explorer/ExplorerController.h"
#include "app/explorer/ExplorerTypes.h"

#include "widgets/PatchGridValues.h"
#include "widgets/TopKBars.h"

#include <QImage>
#include <QString>
#include <QStringList>
#include <QVector>

#include <memory>
#include <vector>

namespace prisma::app {

// An SAE opened on the model thread, and its feature database when there is one.
struct SaeSummary {
  QString source;   // the SAE's folder or file
  QString spec;     // what a feature database records: sae:NAME for a bundled SAE, else `source`
  bool bundled = false;  // one of the program's resources (never written into)
  QString trainingDataset;  // the dataset its training recorded, or empty
  QString format;   // "prisma", "saelens", "vit-prisma"
  QString hook;     // e.g. "blocks.1.hook_resid_post"
  QString model;    // the model it names (may be empty)
  QString activation, normalization, tokens;  // "relu" / "topk"; ...; "all" / "cls" / "patches"
  int dIn = 0, dSae = 0, k = 0;
  QStringList notes;
  // The database (empty source: none).
  QString databaseSource;
  QString databaseDataset, databaseSplit, databaseDatasetPath;
  quint64 databaseSeed = 0;
  int databaseImages = 0, databaseTopK = 0;
  std::shared_ptr<const std::vector<float>> density;         // [d_sae]
  std::shared_ptr<const std::vector<float>> meanWhenFiring;  // [d_sae]

  bool hasDatabase() const { return !databaseSource.isEmpty() && density; }
  float densityOf(int feature) const;  // NaN without a database
};

// One feature at one token.
struct ActiveFeature {
  int feature = -1;
  float activation = 0.0f;
};

// One image's feature activations at the SAE's tokens.
struct FeatureEncoding {
  QString title;
  QImage input;  // the model's input, de-normalised
  int gridRows = 0, gridCols = 0;
  int tokens = 0;       // rows of `acts`: the tokens the SAE reads
  int firstPatch = 0;   // the row of patch (0, 0), or -1 when the SAE reads only the CLS token
  int dSae = 0;
  std::shared_ptr<const std::vector<float>> acts;  // [tokens, d_sae]
  QVector<widgets::ClassScore> topk;               // the model's clean top 5
  QStringList classNames;

  bool isValid() const { return acts && tokens > 0 && dSae > 0; }
  // The row of a patch, or -1 when the SAE does not read patches.
  int rowOfPatch(int row, int col) const;
  float at(int token, int feature) const { return (*acts)[static_cast<size_t>(token) * dSae + feature]; }
  // The features firing (> 0) at a row, strongest first, at most `limit` (0 = all).
  QVector<ActiveFeature> activeAt(int token, int limit = 0) const;
  // The features by their largest activation over the image's patches (over its rows when
  // the SAE reads only the CLS token), strongest first.
  QVector<ActiveFeature> strongest(int limit = 0) const;
  // One feature over the patch grid (empty when the SAE does not read patches).
  widgets::PatchGridValues heat(int feature) const;
};

// One of a feature's top-activating images, from the database.
struct FeatureTopImage {
  int position = -1;  // in the database's split (its "part", model/train/TrainingData.h)
  float value = 0.0f;  // the feature's largest activation over the image's tokens
  QString label;       // the image's class name, when the dataset could be opened
  QImage image;        // null when the dataset could not be opened
  widgets::PatchGridValues heat;  // the feature at each patch of that image
};

struct FeatureDetails {
  int feature = -1;
  bool hasDatabase = false;
  double density = 0.0, meanWhenFiring = 0.0;
  QVector<double> histogramEdges;   // [bins + 1], log10-spaced
  QVector<double> histogramCounts;  // [bins]
  QVector<FeatureTopImage> top;
  QStringList topClasses;  // "name (rows)", most first
  QString note;            // why thumbnails are missing, or empty
};

// Clean vs edited prediction with the SAE spliced in (with its error term, so an edit of
// scale 1 changes nothing and any change is the edit's).
struct FeatureEditResult {
  int feature = -1;
  double scale = 1.0;
  QVector<widgets::ClassScore> clean, edited;  // top 5 each
  // The probabilities of the clean top-5 classes after the edit, in the same order.
  QVector<double> editedOfClean;
};

// A feature database to build from the tab, with `prisma sae features`' options and
// defaults (its --dataset, --split, --top-k, --limit, --batch, --seed, --dataset-path).
struct FeatureDatabaseRequest {
  QString dataset;
  QString split = QStringLiteral("test");
  QString datasetPath;  // empty: the dataset's default location
  quint64 seed = 0;
  int topK = 16;
  int limit = 0;  // images, 0 = the whole split
  int batch = 64;
  QString model;  // the model's source, as the JSON records it
  // Where to write, in order: the first whose parent can be written wins (the SAE's
  // folder, then the user's). The database appears there only once it is complete.
  QStringList folders;
};

struct FeatureDatabaseProgress {
  qint64 done = 0, total = 0;  // images
};

struct FeatureDatabaseBuilt {
  QString folder;  // empty when the build was stopped (nothing was written)
  int images = 0;
  qint64 total = 0;
  double seconds = 0.0;
};

namespace jobs {

// The SAE and database bundled for a model (resources/sae/<mouse>/...), or empty. Only
// bundled mice have them.
struct BundledSae {
  QString sae, database;
};
BundledSae bundledSaeFor(const QString& modelSource);
// The database beside an SAE (a folder with features.json: the SAE's own folder, one of its
// sub-folders or one beside it whose hook matches), or empty.
QString databaseBeside(const QString& saePath);
// Whether `dir` holds a feature database (its features.json).
bool isDatabaseFolder(const QString& dir);

// Loads the SAE (and the database, when `databasePath` is not empty) for the current
// model, checking that the model has the SAE's hook and the database the SAE's hook and
// width. A database that does not fit fails the job, unless it was only found beside the
// SAE (`databaseFound`): then the SAE opens without it and its notes say why.
ModelJob<SaeSummary> openSae(const QString& saePath, const QString& databasePath, bool databaseFound = false);
// The current image through the model, its SAE hook encoded.
ModelJob<FeatureEncoding> encodeImage(const ImageRequest& request);
// A feature's database entry, with up to `thumbnails` top images rendered.
ModelJob<FeatureDetails> featureDetails(int feature, int thumbnails);
// The image through the model twice: clean, and with the SAE spliced in and `feature`
// multiplied by `scale` at every token the SAE replaces (0: ablated).
ModelJob<FeatureEditResult> editFeature(const ImageRequest& request, int feature, double scale);
// One pass of the open SAE over a dataset split (sae::buildFeatureDatabase, a background
// job: interactive jobs run between its batches), written as `prisma sae features` writes
// it, with the same JSON. It is built in a hidden folder beside its destination and renamed
// into place once saved, so a stopped or failed build leaves no file behind.
ModelJob<FeatureDatabaseBuilt, FeatureDatabaseProgress> buildDatabase(const FeatureDatabaseRequest& request);
// Hooks an SAE can be trained on in the loaded model: the residual stream of each block.
ModelJob<QStringList> trainableHooks();
// The folder name of a database of `dataset`/`split` (e.g. features-induction-test).
QString databaseFolderName(const QString& dataset, const QString& split);
// The datasets the registry names, for the build dialog.
QStringList datasetNames();

}  // namespace jobs
}  // namespace prisma::app

