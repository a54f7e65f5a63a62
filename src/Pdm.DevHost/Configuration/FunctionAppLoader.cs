using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pdm.DevHost.Configuration;

/// <summary>The loaded app, or every problem found (file, function, binding, property, reason).</summary>
public sealed record FunctionAppLoadResult
{
    public FunctionApp? App { get; init; }
    public IReadOnlyList<string> Problems { get; init; } = [];
    public bool Succeeded => App is not null && Problems.Count == 0;
}

/// <summary>
/// Reads host.json and every */function.json of a function app the way the Functions host indexes it,
/// expanding %SETTING% references from the app settings.
/// </summary>
public static partial class FunctionAppLoader
{
    public const string EventHubTriggerType = "eventHubTrigger";
    public const string TimerTriggerType = "timerTrigger";
    public const string HttpTriggerType = "httpTrigger";
    public const string QueueTriggerType = "queueTrigger";

    private static readonly string[] SupportedTriggers = [EventHubTriggerType, TimerTriggerType, HttpTriggerType, QueueTriggerType];

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <param name="directory">Folder holding host.json and one folder per function.</param>
    /// <param name="getSetting">App setting lookup for %NAME% expansion; null when the setting is not set.</param>
    public static FunctionAppLoadResult Load(string directory, Func<string, string?> getSetting)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(getSetting);
        var problems = new List<string>();
        var hostPath = Path.Combine(directory, "host.json");
        if (!File.Exists(hostPath))
        {
            return new FunctionAppLoadResult { Problems = [$"{hostPath}: file not found (is this a function app folder?)"] };
        }

        var host = ReadJson(hostPath, problems) is { } hostJson
            ? ReadHostSettings(hostJson, new Context("host.json", getSetting, problems))
            : null;

        var functions = new List<FunctionDefinition>();
        foreach (var folder in System.IO.Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            var path = Path.Combine(folder, "function.json");
            if (!File.Exists(path))
            {
                continue;
            }

            var name = Path.GetFileName(folder);
            if (ReadJson(path, problems) is { } json && host is not null
                && ReadFunction(name, json, host, new Context($"{name}/function.json", getSetting, problems)) is { } function)
            {
                functions.Add(function);
            }
        }

        if (host is null || problems.Count > 0)
        {
            return new FunctionAppLoadResult { Problems = problems };
        }

        return new FunctionAppLoadResult
        {
            App = new FunctionApp { Directory = Path.GetFullPath(directory), Host = host, Functions = functions },
        };
    }

    private static JsonElement? ReadJson(string path, List<string> problems)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), JsonOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{path}: the top level must be a JSON object");
                return null;
            }

            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            problems.Add($"{path}: invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}: {ex.Message}");
            return null;
        }
    }

    private static HostSettings ReadHostSettings(JsonElement root, Context context)
    {
        var customHandler = Child(root, "customHandler");
        var description = customHandler is { } ch ? Child(ch, "description") : null;
        var eventHubs = Child(root, "extensions") is { } ext ? Child(ext, "eventHubs") : null;
        var http = Child(root, "extensions") is { } ext2 ? Child(ext2, "http") : null;
        var queues = Child(root, "extensions") is { } ext3 ? Child(ext3, "queues") : null;
        var defaults = new EventHubSettings();

        return new HostSettings
        {
            HandlerExecutable = NullIfEmpty(String(description, "defaultExecutablePath", context)),
            HandlerArguments = Strings(description, "arguments", context),
            WorkingDirectory = NullIfEmpty(String(description, "workingDirectory", context)),
            EnableProxyingHttpRequest = Bool(customHandler, "enableProxyingHttpRequest", context) ?? false,
            InitializationTimeout = Duration(customHandler, "initializationTimeout", context) ?? TimeSpan.FromSeconds(30),
            FunctionTimeout = String(root, "functionTimeout", context) is "-1" ? null : Duration(root, "functionTimeout", context),
            RoutePrefix = (String(http, "routePrefix", context) ?? "api").Trim('/'),
            EventHubs = new EventHubSettings
            {
                MaxEventBatchSize = Int(eventHubs, "maxEventBatchSize", 1, context) ?? defaults.MaxEventBatchSize,
                MinEventBatchSize = Int(eventHubs, "minEventBatchSize", 1, context) ?? defaults.MinEventBatchSize,
                MaxWaitTime = Duration(eventHubs, "maxWaitTime", context) ?? defaults.MaxWaitTime,
            },
            Queues = ReadQueueSettings(queues, context.For("extensions.queues")),
        };
    }

    private static QueueSettings ReadQueueSettings(JsonElement? queues, Context context)
    {
        var defaults = new QueueSettings();
        var batchSize = Int(queues, "batchSize", 1, context) ?? defaults.BatchSize;
        if (batchSize > QueueSettings.MaxBatchSize)
        {
            context.Problem($"property 'batchSize' is {batchSize}; a receive takes at most {QueueSettings.MaxBatchSize} messages");
            batchSize = QueueSettings.MaxBatchSize;
        }

        var maxPollingInterval = Duration(queues, "maxPollingInterval", context) ?? defaults.MaxPollingInterval;
        if (maxPollingInterval < QueueSettings.MinPollingInterval)
        {
            context.Problem($"property 'maxPollingInterval' must be at least {QueueSettings.MinPollingInterval.TotalMilliseconds} ms");
        }

        var encoding = String(queues, "messageEncoding", context);
        var base64 = encoding is null || "base64".Equals(encoding, StringComparison.OrdinalIgnoreCase);
        if (!base64 && !"none".Equals(encoding, StringComparison.OrdinalIgnoreCase))
        {
            context.Problem($"property 'messageEncoding' is '{encoding}'; use \"base64\" or \"none\"");
        }

        return new QueueSettings
        {
            BatchSize = batchSize,
            NewBatchThreshold = Int(queues, "newBatchThreshold", 0, context) ?? batchSize / 2,
            MaxPollingInterval = maxPollingInterval,
            VisibilityTimeout = Duration(queues, "visibilityTimeout", context) ?? defaults.VisibilityTimeout,
            MaxDequeueCount = Int(queues, "maxDequeueCount", 1, context) ?? defaults.MaxDequeueCount,
            Base64 = base64,
        };
    }

    private static FunctionDefinition? ReadFunction(string name, JsonElement root, HostSettings host, Context context)
    {
        if (Bool(root, "disabled", context) == true)
        {
            return null;
        }

        if (Child(root, "bindings") is not { ValueKind: JsonValueKind.Array } bindings)
        {
            context.Problem("'bindings' must be an array of binding objects");
            return null;
        }

        JsonElement? trigger = null;
        var sawTrigger = false;
        var index = 0;
        foreach (var binding in bindings.EnumerateArray())
        {
            var where = context.For($"bindings[{index++}]");
            var type = String(binding, "type", where);
            if (type is null)
            {
                where.Problem("'type' is missing");
            }
            else if (type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase))
            {
                sawTrigger = true;
                if (!SupportedTriggers.Contains(type, StringComparer.OrdinalIgnoreCase))
                {
                    where.Problem($"trigger type '{type}' is not supported by the dev host (supported: {string.Join(", ", SupportedTriggers)})");
                }
                else if (trigger is not null)
                {
                    where.Problem("a function has exactly one trigger; this is the second");
                }
                else
                {
                    trigger = binding;
                }
            }
            else if (!(type.Equals("http", StringComparison.OrdinalIgnoreCase) && String(binding, "direction", where) == "out"))
            {
                where.Problem($"binding type '{type}' is not supported by the dev host (only an 'http' output beside an httpTrigger)");
            }
        }

        if (trigger is not { } t)
        {
            if (!sawTrigger)
            {
                context.Problem("no trigger binding (a function needs exactly one)");
            }

            return null;
        }

        var triggerContext = context.For($"binding '{String(t, "name", context) ?? "?"}'");
        var triggerType = String(t, "type", context) ?? "";
        TriggerBinding? triggerBinding = triggerType.ToUpperInvariant() switch
        {
            "EVENTHUBTRIGGER" => ReadEventHubTrigger(t, triggerContext),
            "TIMERTRIGGER" => ReadTimerTrigger(t, triggerContext),
            "QUEUETRIGGER" => ReadQueueTrigger(t, triggerContext),
            _ => ReadHttpTrigger(name, t, host, triggerContext),
        };
        var retry = Child(root, "retry") is { } r ? ReadRetry(r, context.For("retry")) : null;
        return triggerBinding is null ? null : new FunctionDefinition { Name = name, Trigger = triggerBinding, Retry = retry };
    }

    private static EventHubTriggerBinding? ReadEventHubTrigger(JsonElement binding, Context context)
    {
        var name = RequiredString(binding, "name", context);
        var cardinality = String(binding, "cardinality", context);
        if (!"many".Equals(cardinality, StringComparison.OrdinalIgnoreCase))
        {
            context.Problem($"cardinality '{cardinality ?? "(absent)"}' is not supported; use \"many\"");
        }

        var dataType = String(binding, "dataType", context);
        var binary = "binary".Equals(dataType, StringComparison.OrdinalIgnoreCase);
        if (!binary && !"string".Equals(dataType, StringComparison.OrdinalIgnoreCase))
        {
            context.Problem($"dataType '{dataType ?? "(absent)"}' is not supported; set \"string\" or \"binary\" "
                + "(without it the host JSON-parses every body and a non-JSON body fails the whole batch)");
        }

        return name is null ? null : new EventHubTriggerBinding
        {
            Name = name,
            EventHubName = String(binding, "eventHubName", context) ?? "",
            ConsumerGroup = String(binding, "consumerGroup", context) ?? "$Default",
            Binary = binary,
        };
    }

    private static QueueTriggerBinding? ReadQueueTrigger(JsonElement binding, Context context)
    {
        var name = RequiredString(binding, "name", context);
        var queueName = RequiredString(binding, "queueName", context);
        if (queueName is not null && !IsQueueName(queueName))
        {
            context.Problem($"property 'queueName': '{queueName}' is not a storage queue name (3-63 characters: lower-case letters, "
                + "digits and single hyphens, starting and ending with a letter or digit)");
            queueName = null;
        }

        var dataType = String(binding, "dataType", context);
        var binary = "binary".Equals(dataType, StringComparison.OrdinalIgnoreCase);
        if (dataType is not null && !binary && !"string".Equals(dataType, StringComparison.OrdinalIgnoreCase))
        {
            context.Problem($"dataType '{dataType}' is not supported; leave it out or set \"string\" or \"binary\"");
        }

        var connection = String(binding, "connection", context);
        return name is null || queueName is null ? null : new QueueTriggerBinding
        {
            Name = name,
            QueueName = queueName,
            // As in the host: no connection (or an empty one) means the app's own storage account.
            Connection = string.IsNullOrWhiteSpace(connection) ? "AzureWebJobsStorage" : connection,
            Binary = binary,
        };
    }

    private static bool IsQueueName(string name) => name.Length is >= 3 and <= 63 && QueueName().IsMatch(name);

    private static TimerTriggerBinding? ReadTimerTrigger(JsonElement binding, Context context)
    {
        var name = RequiredString(binding, "name", context);
        var scheduleText = RequiredString(binding, "schedule", context);
        CronSchedule? schedule = null;
        if (scheduleText is not null && !CronSchedule.TryParse(scheduleText, out schedule, out var error))
        {
            context.Problem($"property 'schedule': {error}");
        }

        return name is null || schedule is null ? null : new TimerTriggerBinding
        {
            Name = name,
            Schedule = schedule,
            RunOnStartup = Bool(binding, "runOnStartup", context) ?? false,
        };
    }

    private static HttpTriggerBinding? ReadHttpTrigger(string functionName, JsonElement binding, HostSettings host, Context context)
    {
        if (!host.EnableProxyingHttpRequest)
        {
            context.Problem("httpTrigger needs customHandler.enableProxyingHttpRequest: true in host.json "
                + "(the dev host only proxies HTTP requests)");
        }

        var name = RequiredString(binding, "name", context);
        return name is null ? null : new HttpTriggerBinding
        {
            Name = name,
            Route = (String(binding, "route", context) ?? functionName).Trim('/'),
            Methods = [.. Strings(binding, "methods", context).Select(m => m.ToUpperInvariant())],
        };
    }

    private static RetryPolicy? ReadRetry(JsonElement retry, Context context)
    {
        var strategyText = RequiredString(retry, "strategy", context);
        var maxRetryCount = Int(retry, "maxRetryCount", -1, context);
        if (maxRetryCount is null)
        {
            context.Problem("'maxRetryCount' is missing");
        }

        RetryStrategy strategy;
        if ("fixedDelay".Equals(strategyText, StringComparison.OrdinalIgnoreCase))
        {
            strategy = RetryStrategy.FixedDelay;
        }
        else if ("exponentialBackoff".Equals(strategyText, StringComparison.OrdinalIgnoreCase))
        {
            strategy = RetryStrategy.ExponentialBackoff;
        }
        else
        {
            if (strategyText is not null)
            {
                context.Problem($"strategy '{strategyText}' is not one of fixedDelay, exponentialBackoff");
            }

            return null;
        }

        var policy = new RetryPolicy
        {
            Strategy = strategy,
            MaxRetryCount = maxRetryCount ?? 0,
            DelayInterval = strategy == RetryStrategy.FixedDelay ? RequiredDuration(retry, "delayInterval", context) : default,
            MinimumInterval = strategy == RetryStrategy.ExponentialBackoff ? RequiredDuration(retry, "minimumInterval", context) : default,
            MaximumInterval = strategy == RetryStrategy.ExponentialBackoff ? RequiredDuration(retry, "maximumInterval", context) : default,
        };
        if (policy.MaximumInterval < policy.MinimumInterval)
        {
            context.Problem("'maximumInterval' is shorter than 'minimumInterval'");
        }

        return policy;
    }

    private static JsonElement? Child(JsonElement? parent, string name)
    {
        if (parent is not { ValueKind: JsonValueKind.Object } obj)
        {
            return null;
        }

        // The host reads its configuration case-insensitively.
        foreach (var property in obj.EnumerateObject())
        {
            if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value.ValueKind == JsonValueKind.Null ? null : property.Value;
            }
        }

        return null;
    }

    private static string? String(JsonElement? parent, string name, Context context)
    {
        if (Child(parent, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            context.Problem($"property '{name}' must be a string, found {value.ValueKind}");
            return null;
        }

        return context.Expand(name, value.GetString()!);
    }

    private static string? RequiredString(JsonElement parent, string name, Context context)
    {
        var value = String(parent, name, context);
        if (string.IsNullOrWhiteSpace(value))
        {
            context.Problem($"property '{name}' is missing or empty");
            return null;
        }

        return value;
    }

    private static IReadOnlyList<string> Strings(JsonElement? parent, string name, Context context)
    {
        if (Child(parent, name) is not { } value)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            context.Problem($"property '{name}' must be an array of strings");
            return [];
        }

        return [.. value.EnumerateArray().Select(e => context.Expand(name, e.GetString()!))];
    }

    private static bool? Bool(JsonElement? parent, string name, Context context)
    {
        switch (Child(parent, name))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.True }:
                return true;
            case { ValueKind: JsonValueKind.False }:
                return false;
            case { ValueKind: JsonValueKind.String } s when bool.TryParse(context.Expand(name, s.GetString()!), out var parsed):
                return parsed;
            default:
                context.Problem($"property '{name}' must be true or false");
                return null;
        }
    }

    private static int? Int(JsonElement? parent, string name, int min, Context context)
    {
        if (Child(parent, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min)
        {
            context.Problem($"property '{name}' must be a whole number >= {min}");
            return null;
        }

        return number;
    }

    private static TimeSpan? Duration(JsonElement? parent, string name, Context context)
    {
        var text = String(parent, name, context);
        if (text is null)
        {
            return null;
        }

        if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) || value < TimeSpan.Zero)
        {
            context.Problem($"property '{name}': '{text}' is not a duration like 00:00:05");
            return null;
        }

        return value;
    }

    private static TimeSpan RequiredDuration(JsonElement parent, string name, Context context)
    {
        if (Child(parent, name) is null)
        {
            context.Problem($"property '{name}' is missing");
        }

        return Duration(parent, name, context) ?? TimeSpan.Zero;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")]
    private static partial Regex QueueName();

    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex SettingReference();

    /// <summary>Where in which file we are, for messages, plus the setting lookup.</summary>
    private sealed record Context(string Location, Func<string, string?> GetSetting, List<string> Problems)
    {
        public Context For(string part) => this with { Location = $"{Location} {part}" };

        public void Problem(string reason) => Problems.Add($"{Location}: {reason}");

        public string Expand(string property, string value) =>
            SettingReference().Replace(value, match =>
            {
                var setting = match.Groups[1].Value;
                if (GetSetting(setting) is { } resolved)
                {
                    return resolved;
                }

                Problem($"property '{property}': app setting '{setting}' is not set");
                return match.Value;
            });
    }
}
