// SPDX-License-Identifier: MIT
// The whole public API in one include: databases, connections, results, transactions, pools, retries.
#pragma once

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/events.hpp>
#include <switchboard/named_lock.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/pool.hpp>
#include <switchboard/reconnect_policy.hpp>
#include <switchboard/result.hpp>
#include <switchboard/server_identity.hpp>
#include <switchboard/transact.hpp>
#include <switchboard/transaction.hpp>
#include <switchboard/tx_mode.hpp>
#include <switchboard/url.hpp>
#include <switchboard/value.hpp>
