#pragma once
// What the GUI writes -- exported images and CSVs, screenshots -- goes through QSaveFile:
// the bytes go to a temporary file beside the target, which is flushed, synced and renamed
// over it only when everything was written. A full disk or a failed encoder leaves the
// previous file as it was and no half-written one behind.

#include <QImage>
#include <QString>

#include <functional>

class QTextStream;

namespace prisma::widgets {

// Encodes `image` (format from the file's suffix) into `path` atomically. On failure
// returns false and, when `error` is given, says why.
bool saveImageAtomically(const QImage& image, const QString& path, QString* error = nullptr);

// Writes text produced by `write` into `path` atomically; a stream error fails the save.
bool saveTextAtomically(const QString& path, const std::function<void(QTextStream&)>& write,
                        QString* error = nullptr);

}  // namespace prisma::widgets
