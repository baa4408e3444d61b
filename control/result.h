#pragma once
// Errors as return values for the OpenStack clients: the project's Result and Error
// (base/result.h), under the names control/ has always used.

#include "base/result.h"

namespace migprobe::control {

using base::Done;
using base::Error;
using base::ErrorKind;
using base::make_error;
using base::Result;
using base::Status;

}  // namespace migprobe::control
