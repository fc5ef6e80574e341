using System.Globalization;

namespace Sandbox.Cli;

/// <summary>docker's <c>kill -s</c>: a signal by name (with or without SIG) or number.</summary>
public static class SignalNames
{
    private static readonly string[] Names =
    [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];

    public static int Parse(string value)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            return n is > 0 and <= 64 ? n : throw new UsageException($"invalid signal: {value}");
        var name = value.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        int i = Array.IndexOf(Names, name);
        if (i > 0) return i;
        if (name.StartsWith("RTMIN+", StringComparison.Ordinal) && int.TryParse(name[6..], out int k) && k is >= 0 and <= 30) return 34 + k;
        throw new UsageException($"invalid signal: {value}");
    }
}
