using System.CommandLine;
using Pdm.Telemetry;

namespace Pdm.Cli;

/// <summary>
/// The command-line options of one model kind's fit. `pdm model fit` and `pdm model train` each make their own instance
/// (an option belongs to one command), so both offer exactly the same options with the same defaults.
/// </summary>
internal abstract class ModelFitOptions
{
    public abstract string Kind { get; }
    public abstract string Description { get; }
    public abstract IEnumerable<Option> Options { get; }

    public abstract FitSettings Read(ParseResult parse);

    public static IReadOnlyList<Func<ModelFitOptions>> All { get; } = [() => new AnomalyOptions(), () => new RulOptions(), () => new StateOptions()];

    /// <summary>A `pdm model fit|train &lt;kind&gt;` command with these options and <paramref name="more"/>.</summary>
    public Command CreateCommand(params Option[] more)
    {
        var command = new Command(Kind, Description);
        foreach (var option in Options.Concat(more))
        {
            command.Options.Add(option);
        }
        return command;
    }

    private static Option<string> Train(string description) => new("--train") { Description = description, Required = true };

    public static Option<string> UnitColumn() =>
        new("--unit-column") { Description = "Name of the unit (machine, engine, run) column", DefaultValueFactory = _ => "unit" };

    public static Option<string?> UnitTimeColumn() =>
        new("--time-column") { Description = "Name of the time column (default: 'time')", DefaultValueFactory = _ => "time" };

    public static Option<string[]> IgnoreColumns() =>
        new("--ignore")
        {
            Description = "Columns to skip, comma separated (ground truth such as wear, notes)",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };

    private sealed class AnomalyOptions : ModelFitOptions
    {
        private readonly Option<string> _train = Train("CSV of normal operation: a header, ',' or ';' separated, a time column and numeric features");
        private readonly Option<string?> _time = new("--time-column") { Description = "Name of the time column (default: the first column)" };
        private readonly Option<double> _fpr = new("--target-fpr") { Description = "Share of normal samples allowed above the threshold", DefaultValueFactory = _ => 0.01 };
        private readonly Option<ulong> _seed = new("--seed") { Description = "Seed of the random parts (isolation forest)", DefaultValueFactory = _ => 1 };
        private readonly Option<string> _iso = CreateIsoOption();

        public override string Kind => "anomaly";
        public override string Description => "Anomaly ensemble (robust EWMA, isolation forest, PCA, temporal model, ISO 10816)";
        public override IEnumerable<Option> Options => [_train, _time, _fpr, _seed, _iso];

        public override FitSettings Read(ParseResult parse) => new AnomalyFitSettings
        {
            TrainFile = parse.GetValue(_train)!,
            TimeColumn = parse.GetValue(_time),
            TargetFpr = parse.GetValue(_fpr),
            Seed = parse.GetValue(_seed),
            IsoZones = IsoTables[parse.GetValue(_iso)!],
        };

        private static Option<string> CreateIsoOption()
        {
            var option = new Option<string>("--iso-zones")
            {
                Description = "ISO 10816 zone table of the vibration sensors (mm/s RMS): group1-rigid, group1-flexible, group2-rigid, "
                    + "group2-flexible, class1 to class4, or none",
                HelpName = "table",
                DefaultValueFactory = _ => "group2-rigid",
            };
            option.AcceptOnlyFromAmong([.. IsoTables.Keys]);
            return option;
        }
    }

    /// <summary>The ISO 10816 tables by their option name; null turns the zone check off.</summary>
    public static IReadOnlyDictionary<string, IsoZoneBoundaries?> IsoTables { get; } = new Dictionary<string, IsoZoneBoundaries?>(
        IsoZoneClasses.ByName.Select(c => KeyValuePair.Create(c.Key, (IsoZoneBoundaries?)c.Value)), StringComparer.Ordinal)
    {
        ["none"] = null,
    };

    private sealed class RulOptions : ModelFitOptions
    {
        private readonly Option<string> _train = Train("CSV with columns unit,time,<features…> and optionally rul; without rul each unit's last row is its failure");
        private readonly Option<string> _unit = UnitColumn();
        private readonly Option<string?> _time = UnitTimeColumn();
        private readonly Option<string> _rul = new("--rul-column") { Description = "Remaining-life column, used when present", DefaultValueFactory = _ => "rul" };
        private readonly Option<double> _cap = new("--cap") { Description = "Remaining life is capped here for training (early life looks alike)", DefaultValueFactory = _ => 125 };
        private readonly Option<int> _seed = new("--seed") { Description = "Seed of folds and subsampling", DefaultValueFactory = _ => 1 };
        private readonly Option<string[]> _ignore = IgnoreColumns();

        public override string Kind => "rul";
        public override string Description => "Remaining-useful-life regressor (boosted trees over causal rolling features)";
        public override IEnumerable<Option> Options => [_train, _unit, _time, _rul, _cap, _seed, _ignore];

        public override FitSettings Read(ParseResult parse) => new RulFitSettings
        {
            TrainFile = parse.GetValue(_train)!,
            UnitColumn = parse.GetValue(_unit)!,
            TimeColumn = parse.GetValue(_time),
            RulColumn = parse.GetValue(_rul)!,
            Cap = parse.GetValue(_cap),
            Seed = parse.GetValue(_seed),
            Ignore = parse.GetValue(_ignore) ?? [],
        };
    }

    private sealed class StateOptions : ModelFitOptions
    {
        private readonly Option<string> _train = Train("CSV with columns unit,time,<features…> and a label column");
        private readonly Option<string> _label = new("--label") { Description = "The label column", DefaultValueFactory = _ => "state" };
        private readonly Option<string> _unit = UnitColumn();
        private readonly Option<string?> _time = UnitTimeColumn();
        private readonly Option<int> _seed = new("--seed") { Description = "Seed of the validation split and subsampling", DefaultValueFactory = _ => 1 };
        private readonly Option<string[]> _ignore = IgnoreColumns();

        public override string Kind => "state";
        public override string Description => "Health-state classifier (boosted trees over causal rolling features)";
        public override IEnumerable<Option> Options => [_train, _label, _unit, _time, _seed, _ignore];

        public override FitSettings Read(ParseResult parse) => new StateFitSettings
        {
            TrainFile = parse.GetValue(_train)!,
            LabelColumn = parse.GetValue(_label)!,
            UnitColumn = parse.GetValue(_unit)!,
            TimeColumn = parse.GetValue(_time),
            Seed = parse.GetValue(_seed),
            Ignore = parse.GetValue(_ignore) ?? [],
        };
    }
}
