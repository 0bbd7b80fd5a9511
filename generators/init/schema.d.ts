export interface InitGeneratorSchema {
  targetPrefix?: string;
  skipPackageJson?: boolean;
  skipFormat?: boolean;
}
