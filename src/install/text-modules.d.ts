/** Files bundled as text (`import x from "file.ini" with { type: "text" }`). */
declare module "*.ini" {
  const text: string;
  export default text;
}
