#pragma once
// The `prisma` sub-commands. Each takes its arguments (without the command name) and the
// output streams, and returns the process exit code.

#include <iosfwd>
#include <string>
#include <vector>

namespace prisma::cli {

using Args = std::vector<std::string>;

int infoCommand(const Args& args, std::ostream& out);
int runCommand(const Args& args, std::ostream& out);
int benchCommand(const Args& args, std::ostream& out);

}  // namespace prisma::cli
