using System.Globalization;

namespace Sandbox.Cli;

/// <summary>One option a command accepts: its names (first is canonical) and whether it takes a value.</summary>
public sealed record OptionSpec(bool TakesValue, params string[] Names);

/// <summary>
/// The result of reading a command line docker's way: <c>--opt value</c>, <c>--opt=value</c>, <c>-e K=V</c>,
/// <c>-eK=V</c>, grouped short flags (<c>-it</c>). With <c>stopAtPositional</c>, everything from the first positional
/// argument on is left as is, so <c>run IMAGE sh -c ...</c> keeps the workload's own flags.
/// </summary>
public sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    public static ParsedArgs Parse(IReadOnlyList<string> args, IReadOnlyList<OptionSpec> options, bool stopAtPositional)
    {
        var byName = new Dictionary<string, OptionSpec>(StringComparer.Ordinal);
        foreach (var o in options)
            foreach (var n in o.Names) byName[n] = o;

        var result = new ParsedArgs();
        int i = 0;
        for (; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--") { i++; break; }
            if (a.Length < 2 || a[0] != '-')
            {
                if (stopAtPositional) break;
                result.Positionals.Add(a);
                continue;
            }
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                int eq = a.IndexOf('=');
                var name = eq > 0 ? a[..eq] : a;
                var spec = Lookup(byName, name);
                if (!spec.TakesValue)
                {
                    if (eq > 0) throw new UsageException($"option {name} takes no value");
                    result.Add(spec, "true");
                }
                else if (eq > 0) result.Add(spec, a[(eq + 1)..]);
                else result.Add(spec, i + 1 < args.Count ? args[++i] : throw new UsageException($"option {name} needs a value"));
                continue;
            }
            // Short options: a group of flags, possibly ending in one that takes the rest (or the next arg) as value.
            for (int c = 1; c < a.Length; c++)
            {
                var spec = Lookup(byName, "-" + a[c]);
                if (!spec.TakesValue) { result.Add(spec, "true"); continue; }
                if (c + 1 < a.Length) result.Add(spec, a[(c + 1)..]);
                else result.Add(spec, i + 1 < args.Count ? args[++i] : throw new UsageException($"option -{a[c]} needs a value"));
                break;
            }
        }
        for (; i < args.Count; i++) result.Positionals.Add(args[i]);
        return result;
    }

    private static OptionSpec Lookup(Dictionary<string, OptionSpec> byName, string name) =>
        byName.TryGetValue(name, out var spec) ? spec : throw new UsageException($"unknown option: {name}");

    private void Add(OptionSpec spec, string value)
    {
        var key = spec.Names[0];
        if (!_values.TryGetValue(key, out var list)) _values[key] = list = [];
        list.Add(value);
    }

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The last value given (docker's rule for repeated single-valued options).</summary>
    public string? Value(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var l) ? l : [];

    public static long ParseSize(string option, string value)
    {
        var v = value.Trim().ToLowerInvariant();
        long mult = 1;
        if (v.EndsWith('b')) v = v[..^1];
        if (v.Length > 0 && "kmgt".Contains(v[^1]))
        {
            mult = v[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            v = v[..^1];
        }
        if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
            throw new UsageException($"invalid size for {option}: '{value}' (use e.g. 64m, 1g)");
        return checked(n * mult);
    }

    public static double ParsePositiveDouble(string option, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d > 0 && double.IsFinite(d)
            ? d
            : throw new UsageException($"invalid value for {option}: '{value}'");

    public static long ParsePositiveLong(string option, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0
            ? n
            : throw new UsageException($"invalid value for {option}: '{value}'");
}
