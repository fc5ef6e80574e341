using System.Net.Http.Headers;

namespace Sandbox.Images.Registry;

/// <summary>
/// A <c>WWW-Authenticate</c> challenge: <c>Bearer realm="…",service="…",scope="…"</c> (token auth) or
/// <c>Basic realm="…"</c>.
/// </summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);
    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);
    public string? Realm => Parameters.GetValueOrDefault("realm");
    public string? Service => Parameters.GetValueOrDefault("service");
    public string? Error => Parameters.GetValueOrDefault("error");

    /// <summary>The first Bearer or Basic challenge of a response (Bearer preferred), or null.</summary>
    public static AuthChallenge? From(HttpResponseHeaders headers)
    {
        AuthChallenge? basic = null;
        foreach (var h in headers.WwwAuthenticate)
        {
            var c = Parse(h.Scheme, h.Parameter);
            if (c.IsBearer) return c;
            if (c.IsBasic) basic ??= c;
        }
        return basic;
    }

    /// <summary>Parses the auth-params (<c>k="v", k2=v2</c>; quoted values may hold commas and escaped quotes).</summary>
    public static AuthChallenge Parse(string scheme, string? parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var s = parameters ?? "";
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ',' || char.IsWhiteSpace(s[i]))) i++;
            int eq = s.IndexOf('=', i);
            if (eq < 0) break;
            var key = s[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < s.Length && s[i] == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i++]);
                }
                i++; // closing quote
                value = sb.ToString();
            }
            else
            {
                int end = s.IndexOf(',', i);
                if (end < 0) end = s.Length;
                value = s[i..end].Trim();
                i = end;
            }
            if (key.Length > 0) result[key] = value;
        }
        return new AuthChallenge(scheme, result);
    }
}
